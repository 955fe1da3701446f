//! The allocator's settings for a long-running server (glibc only).
//!
//! A login check runs Argon2id, which allocates and frees a 19 MiB block on a
//! blocking-pool thread. glibc serves a first allocation that large with `mmap`, but
//! when it is freed raises its mmap threshold to that size (the "dynamic threshold"),
//! so every later 19 MiB block comes from the heap of whichever malloc arena the
//! thread uses, and stays resident after it is freed. With the blocking pool's threads
//! spread over up to 8 arenas per core, a login flood left 130-210 MB resident with
//! only two checks ever running at once. A fixed threshold turns the dynamic one off:
//! blocks of 1 MiB and more are always mapped and given back to the system when freed.
//! Smaller allocations are unchanged.

/// Allocations at least this large are mapped on their own and unmapped when freed.
pub const MMAP_THRESHOLD: i32 = 1024 * 1024;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use std::os::raw::c_int;

    // <malloc.h>
    pub const M_TRIM_THRESHOLD: c_int = -1;
    pub const M_MMAP_THRESHOLD: c_int = -3;

    extern "C" {
        pub fn mallopt(param: c_int, value: c_int) -> c_int;
    }
}

/// Sets the fixed mmap threshold (and a trim threshold to match). Call first thing in
/// `main`, before any thread starts. Returns false where it is not supported (not glibc).
pub fn tune_allocator() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes malloc's parameters; it is called before any
        // other thread exists, with parameters and values glibc documents.
        unsafe {
            glibc::mallopt(glibc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                && glibc::mallopt(glibc::M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_settings() {
        assert!(super::tune_allocator());
    }
}
