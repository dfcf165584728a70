use clap::Parser;

fn main() {
    let cli = swarmnode::cli::Cli::parse();
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "warn",
        (_, 0) => "info",
        (_, 1) => "debug",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(format!(
            "swarmnode={level}"
        )))
        .with_writer(|| swarmnode::host::secret::ScrubbedStderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .init();
    match swarmnode::run(&cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let msg = swarmnode::error::chain(&e);
            eprintln!(
                "swarmnode: error: {}",
                swarmnode::host::text::escape_controls_but_newlines(
                    &swarmnode::host::secret::scrub(&msg)
                )
            );
            std::process::exit(e.exit_code());
        }
    }
}
