"""The simulated entrance: scenarios, rendering, the lock-step simulator."""
