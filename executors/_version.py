"""crewgate's version; the sandbox image tag follows it."""

VERSION = "0.1.0"
