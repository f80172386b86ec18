//! Deterministic discrete-event network simulator for the `lightning` library.
//!
//! Empty until the simulator issue lands: a virtual clock and one seeded event queue
//! driving many library nodes in one process.
