//! The inbox's entry point (what Trunk builds).

fn main() {}
