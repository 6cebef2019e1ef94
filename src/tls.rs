//! The one rustls crypto provider of the process (ring). Install it before building any TLS
//! client or server config; calling again is harmless.

pub fn ensure_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
