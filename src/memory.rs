//! Memory the allocator holds but no longer uses, given back to the system. Taking a
//! whole fleet frees a lot at once (the listing's pages, the host map repacked into
//! full nodes: hundreds of megabytes at a million hosts); glibc keeps such pages
//! resident unless asked to let them go.

/// One allocator arena for every thread. The console decodes the fleet's pages on a
/// sync thread and keeps them on its own: with an arena per thread, each keeps the
/// other's freed memory resident (measured at 100,000 hosts: 88 MiB with the default,
/// 69 MiB with one). Its threads are few and mostly wait, so sharing costs nothing.
/// Called before the runtime starts its threads.
pub fn one_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before other threads.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Give the pages of freed memory back to the system (a no-op where the allocator does
/// not keep them).
pub fn give_back_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it may be called at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
