//! Runnable examples; see the `src/bin` binaries.
