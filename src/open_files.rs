//! The process's limit on open files, raised to what the system allows: a run against a
//! hundred hosts holds a connection (and for a jump, a relay) per host at once, plus its
//! temporary file and lock files, past the soft limit of 1,024 many shells start with.

/// Raises the soft limit on open files to the hard one (capped: no run needs more), as
/// ssh-agent and most servers do; where that fails the run goes on under the old limit.
pub fn raise_limit() {
    const ENOUGH: libc::rlim_t = 65_536;
    // SAFETY: getrlimit and setrlimit read and write the plain struct given, nothing else.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        let wanted = limit.rlim_max.min(ENOUGH);
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_reaches_the_hard_one_or_enough() {
        super::raise_limit();
        // SAFETY: as above.
        let limit = unsafe {
            let mut limit: libc::rlimit = std::mem::zeroed();
            assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
            limit
        };
        assert_eq!(limit.rlim_cur, limit.rlim_max.min(65_536));
    }
}
