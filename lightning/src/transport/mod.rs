//! Transport placeholder.
