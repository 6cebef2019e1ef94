//! Handing freed memory back to the system (glibc only; elsewhere these do nothing).
//!
//! A run over 100,000 SKUs allocates its working set, frees it, and glibc keeps the freed pages:
//! measured, the daemon's RSS stayed at the peak of the largest run it had done. Two glibc knobs
//! bring it back to what is live: at most two malloc arenas (one per core would spread freed
//! memory over as many heaps as there are threads), and `malloc_trim` after each run.

/// At most two malloc arenas. Call before any thread starts.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets an allocator parameter; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Return freed heap pages to the system (after a run).
pub fn release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` walks the allocator's own free lists under its locks.
    unsafe {
        libc::malloc_trim(0);
    }
}
