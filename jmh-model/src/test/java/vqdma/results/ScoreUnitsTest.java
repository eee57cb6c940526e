package vqdma.results;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** JMH's units: conversion within a kind, rates, direction. */
class ScoreUnitsTest
{
    @Test
    void everyTimeUnitBecomesOperationsPerSecond()
    {
        assertEquals(1e9 / 250, ScoreUnits.opsPerSecond(250, "ns/op"), 1e-6);
        assertEquals(1e6 / 2.5, ScoreUnits.opsPerSecond(2.5, "us/op"), 1e-6);
        assertEquals(1e3 / 4, ScoreUnits.opsPerSecond(4, "ms/op"), 1e-9);
        assertEquals(0.5, ScoreUnits.opsPerSecond(2, "s/op"), 1e-12);
        assertEquals(1234, ScoreUnits.opsPerSecond(1234, "ops/s"), 1e-9);
        assertEquals(1234e3, ScoreUnits.opsPerSecond(1234, "ops/ms"), 1e-6);
        assertEquals(7e6, ScoreUnits.opsPerSecond(7, "ops/us"), 1e-6);
        assertEquals(1e6 / 3, ScoreUnits.opsPerSecond(3, "\u00b5s/op"), 1e-6);
        assertTrue(Double.isNaN(ScoreUnits.opsPerSecond(5, "#")));
        assertTrue(Double.isNaN(ScoreUnits.opsPerSecond(5, "B/op")));
    }

    @Test
    void unitsConvertWithinTheirKindOnly()
    {
        assertEquals(1000.0, ScoreUnits.scale("us/op", "ns/op"), 1e-9);
        assertEquals(1000.0, ScoreUnits.scale("\u00b5s/op", "ns/op"), 1e-9, "micro sign");
        assertEquals(1e-3, ScoreUnits.scale("ops/s", "ops/ms"), 1e-15);
        assertEquals(60.0, ScoreUnits.scale("ops/s", "ops/min"), 1e-9);
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> ScoreUnits.scale("ops/s", "ns/op"));
        assertTrue(ex.getMessage().contains("ops/s") && ex.getMessage().contains("ns/op"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ScoreUnits.scale("B/op", "ns/op"));
        assertEquals(1e9 / 250, ScoreUnits.opsPerSecond(250, "ns/op"), 1e-6);
        assertEquals(1234e3, ScoreUnits.opsPerSecond(1234, "ops/ms"), 1e-6);
        assertEquals(1 / 7200.0, ScoreUnits.opsPerSecond(2, "hr/op"), 1e-15);
        assertTrue(Double.isNaN(ScoreUnits.opsPerSecond(5, "#")));
        assertTrue(Double.isNaN(ScoreUnits.opsPerSecond(5, "B/op")));
        assertEquals(Boolean.TRUE, ScoreUnits.higherIsBetter("ops/us"));
        assertEquals(Boolean.FALSE, ScoreUnits.higherIsBetter("B/op"));
        assertNull(ScoreUnits.higherIsBetter("#"));
    }
}
