"""Physical constants (exact in SI since 2019); ``kmc.simulation._model`` re-exports them."""

ELEMENTARY_CHARGE_C = 1.602176634e-19
BOLTZMANN_J_PER_K = 1.380649e-23
AVOGADRO_PER_MOL = 6.02214076e23
FARADAY_C_PER_MOL = 96485.33212  # e * N_A
GAS_CONSTANT_J_PER_MOL_K = 8.314462618  # k_B * N_A
