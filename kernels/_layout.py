"""Bit layout of a lattice site word and the kernel's status and counter codes.

Every site is one ``uint32``::

    bits 0-3   host phase code (16 phases; tables indexed by it say what a phase does)
    bit  4     site touches a conductor connected to electrode 0 (cathode)
    bit  5     site touches a conductor connected to electrode 1 (anode)
    bits 8-31  occupant: particle id + 1, 0 when empty (at most 2**24 - 1 particles)

Keeping the contact flags in the word means a hop learns whether the particle can
react at its new site from the one load it needs anyway for the exclusion check.
"""

PHASE_MASK = 0xF
FLAG_SHIFT = 4
FLAG_MASK = 0x30
LOW_MASK = 0xFF
PID_SHIFT = 8
MAX_PARTICLES = (1 << 24) - 1
N_ELECTRODES = 2

# Reaction products (react_product table): a species index >= 0 converts the particle.
PRODUCT_DEPOSIT = -1
PRODUCT_CONSUME = -2

# Status returned by run_events.
STATUS_TIME = 0  # reached t_stop
STATUS_EVENTS = 1  # reached max_events
STATUS_EXHAUSTED = 2  # total rate is zero: nothing can happen any more
STATUS_CAPACITY = 3  # particle arrays are full; the caller grows them and calls again

# Indices into the counters array.
C_EVENTS = 0  # all attempted events, null events included
C_HOPS = 1  # accepted hops inside the lattice
C_NULL = 2  # rejected attempts (blocked hop, blocked injection or exit)
C_REACTIONS = 3
C_INJECTIONS = 4
C_EXITS = 5
C_DEPOSITS = 6
N_COUNTERS = 7
