//! How many heaps glibc's malloc keeps: capped, so a run against many hosts does not keep one
//! per thread. f3s runs a thread per host (observing, then applying); glibc gives each busy
//! thread an arena of its own, up to eight per core (mallopt(3), `M_ARENA_MAX`), and memory
//! freed in one arena is not reused by a thread allocating in another. At 24 hosts of 4,000
//! resources that was 35–60 MiB of resident memory beyond what the heap held.

/// Arenas enough that two cores rarely wait on each other's lock (one arena made compiling
/// twice as slow in the benchmark), few enough that freed memory is found again.
const ARENAS: libc::c_int = 2;

/// Caps the arenas; to be called before the process starts its threads. Elsewhere than glibc
/// (musl has one heap) there is nothing to cap.
pub fn cap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a parameter of the allocator; it is called before any other
    // thread exists, and a value it refuses leaves the default in place.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}
