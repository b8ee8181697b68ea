use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(mailtls::run(std::env::args_os()))
}
