//! glibc's malloc, tuned for a run against many hosts: few arenas, and large blocks always
//! from their own mappings. f3s runs a thread per host (observing, then applying); glibc gives
//! each busy thread an arena of its own, up to eight per core (mallopt(3), `M_ARENA_MAX`), and
//! memory freed in one arena is not reused by a thread allocating in another. And glibc raises
//! its mmap threshold each time a mapped block is freed (up to 32 MiB, "dynamic mmap
//! threshold" in mallopt(3)), after which a host's growing lists and buffers come from the
//! heap and leave holes there when they move. At 24 hosts of 4,000 resources the two were
//! 35–60 MiB of resident memory beyond what the heap held.

/// Arenas enough that two cores rarely wait on each other's lock (one arena made compiling
/// twice as slow in the benchmark), few enough that freed memory is found again.
const ARENAS: libc::c_int = 2;

/// glibc's own starting threshold (128 KiB), kept: fixing it turns the raising off.
const MMAP_FROM: libc::c_int = 128 * 1024;

/// Tunes the allocator; to be called before the process starts its threads. Elsewhere than
/// glibc (musl has one heap) there is nothing to tune.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a parameter of the allocator; it is called before any other
    // thread exists, and a value it refuses leaves the default in place.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_FROM);
    }
}
