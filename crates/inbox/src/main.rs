//! The inbox's entry point (what Trunk builds).

fn main() {
    #[cfg(target_arch = "wasm32")]
    connect360_inbox::start();
}
