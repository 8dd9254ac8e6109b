//! Customer and location matching. PLACEHOLDER: to be written.
