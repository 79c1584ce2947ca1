//! Prints the loader (`loader/widget.js`, or the file given) with the
//! widget's constants filled in (`connect360_widget::loader`):
//! `cargo run -q -p connect360-widget --example loader -- loader/widget.js > dist/widget.js`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let path = std::env::args().nth(1).unwrap_or_else(|| "loader/widget.js".to_owned());
    let filled = std::fs::read_to_string(&path)
        .map_err(|e| format!("reading {path}: {e}"))
        .and_then(|text| connect360_widget::loader::fill(&text).map_err(|e| format!("{path}: {e}")));
    match filled {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("loader: {e}");
            ExitCode::FAILURE
        }
    }
}
