"""Bit layout of a lattice site word and the kernel's status and counter codes.

Every site is one ``uint32``::

    bits 0-3   host phase code (16 phases; tables indexed by it say what a phase does)
    bits 4-7   contact flags, one per reaction channel c (bit 4 + c): the site touches
               an active conductor of that channel (see below)
    bits 8-31  occupant: particle id + 1, 0 when empty (at most 2**24 - 1 particles)

Reaction channels. Channel e (0 cathode, 1 anode) is an active conductor of electrode
e: the electrode, and its doped PT unless the run resolves surfaces. A run whose
reactions name a surface (``surface = "electrode"`` or ``"film"``) resolves them: its
doped PT of electrode e is channel FILM_CHANNEL + e (2, 3) and channel e is the bare
electrode only. A particle touching several takes the first of: cathode film, cathode,
anode film, anode (:func:`kmc.kernels._chemistry.contact_channel`). The electrode of
channel c is ``c & 1``. Runs that do not resolve surfaces never set bits 6-7, so their
channels, and their trajectories, are those of the two-channel engine.

Keeping the contact flags in the word means a hop learns whether the particle can
react at its new site from the one load it needs anyway for the exclusion check.
"""

PHASE_MASK = 0xF
FLAG_SHIFT = 4
FLAG_MASK = 0xF0
LOW_MASK = 0xFF
PID_SHIFT = 8
MAX_PARTICLES = (1 << 24) - 1
N_ELECTRODES = 2
FILM_CHANNEL = 2  # channel of electrode e's doped PT in a surface-resolved run: 2 + e

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
C_DEPOSITS = 6  # sites turned into deposit (PT), floating or connected
C_COUPLINGS = 7  # radical-cation pairs coupled into one oligomer
C_PRECIPITATIONS = 8  # oligomers that became PT (length >= n* or touching PT/electrode)
C_DECAYS = 9  # radicals lost to the side reaction
C_PT_UNITS = 10  # monomer units held in PT sites
C_DECAYED_UNITS = 11  # monomer units lost to the side reaction
C_PROTONS = 12  # protons released by coupling (2 per coupling)
C_SHORTS = 13  # PT sites that joined conductors of both electrodes
C_FARADAIC = 14  # scheduled (galvanostatic) oxidations
C_RADICAL_STICKS = 15  # radical cations that precipitated onto PT or an electrode
# Faraday's law of the film (2 entries each, per electrode): a chain that precipitates
# onto an active (doped) conductor of electrode e couples into the film's chains; the
# coupling oxidizes the chain's end and the film's (2 electrons per chain and molecule,
# 1 for a radical cation, whose end is already oxidized). Counted in units of the
# molecules per lattice unit (the protocol driver multiplies by electrons_per_oxidation).
C_FILM_ELECTRONS = 16
# Monomer units of PT that joined a conductor of electrode e when they precipitated
# (doped or not): the units whose doping charge the electrode passes while doped.
C_CONNECTED_UNITS = 18
N_COUNTERS = 20

# Roles of species in the chemistry (index into the chem_species table).
ROLE_MONOMER = 0
ROLE_RADICAL = 1
ROLE_OLIGOMER = 2

# Rates of the chemistry table chem_rate (1/s).
RATE_COUPLING = 0  # per radical and neighbour direction holding a radical
RATE_STICKING = 1  # per oligomer and neighbour direction that is PT or electrode
RATE_DECAY = 2  # per radical
# Sticking per surface (thinning of the sticking bound RATE_STICKING, the larger of the
# two rates): the probability that an attempt onto bare electrode metal, or onto PT,
# precipitates. Both 1 unless the chemistry gives the electrode its own sticking rate.
RATE_STICK_ACCEPT_METAL = 3
RATE_STICK_ACCEPT_PT = 4

# Scheduled faradaic events (galvanostatic): sched = [t_next (s), interval (s)].
STATUS_STARVED = 4  # a scheduled oxidation found nothing to oxidize
