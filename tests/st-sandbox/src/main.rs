//! `st-sandbox`: the ServiceTitan API emulator binary. See the library's crate doc for
//! the flags, routes and admin API.

use st_sandbox::{app, server, AppState, Config};
use std::io::Write;
use std::sync::Arc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("st-sandbox: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let config = Config::parse(std::env::args().skip(1))?;
    let state = Arc::new(AppState::new(&config)?);
    let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port))
        .await
        .map_err(|e| format!("bind {}:{}: {e}", config.host, config.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // Handlers go in before the line is printed: whoever reads it may signal at once.
    let stop = shutdown()?;
    // The one stdout line the xtask and tests wait for.
    let mut out = std::io::stdout();
    writeln!(out, "st-sandbox listening on http://{addr}").and_then(|()| out.flush()).map_err(|e| e.to_string())?;
    eprintln!(
        "st-sandbox: tenant {}, booking provider {}, {} OpenAPI operations with bodies",
        state.app.tenant_id,
        state.app.booking_provider_id,
        state.spec.len()
    );
    server::serve(listener, app(state), stop).await;
    Ok(())
}

/// Registers SIGINT/SIGTERM handlers now; the future resolves on either.
fn shutdown() -> Result<impl std::future::Future<Output = ()>, String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT handler: {e}"))?;
        let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM handler: {e}"))?;
        Ok(async move {
            tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
