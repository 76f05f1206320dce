//! The `notify` binary; everything is in the `notify_cli` library.

fn main() -> std::process::ExitCode {
    notify_cli::main()
}
