//! The dialect of each OS family.

use super::dialect::Dialect;
use super::freebsd::FreeBsd;
use super::rocky::Rocky;
use crate::inventory::host::OsFamily;

pub fn dialect(os: OsFamily) -> &'static dyn Dialect {
    match os {
        OsFamily::Freebsd => &FreeBsd,
        OsFamily::Rocky => &Rocky,
    }
}
