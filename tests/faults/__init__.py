"""The fault harness: each role of a visit in a network namespace of its own, and real faults on one link."""
