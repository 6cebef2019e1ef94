//! TLS plumbing shared by the HTTP clients: reqwest is built with `rustls-no-provider`, so a rustls
//! crypto provider must be installed once per process before any `reqwest::Client` is built.

/// Install ring as the process-wide rustls crypto provider; a no-op when one is already installed.
pub fn ensure_crypto_provider() {
    // `install_default` fails only when a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
