//! Reading what an observation script printed back into a `HostState`. The format is a line
//! per answer (`P`ath, `R`c var, pac`K`age, `S`ervice), content length-prefixed, `U`name
//! first and `E`nd last, so a truncated answer is noticed rather than misread.

use crate::host_state::{
    CertificateState, DeviceState, FileState, HostState, MountState, Ownership, ServiceState,
};
use crate::inventory::host::OsFamily;
use crate::probe::Probe;
use crate::resource::ownership::normalize_mode;
use crate::sensitive::{Digest, Observed};

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn line(&mut self) -> Result<&'a str, String> {
        let rest = &self.bytes[self.at.min(self.bytes.len())..];
        let end = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or("the answer ended early")?;
        self.at += end + 1;
        std::str::from_utf8(&rest[..end]).map_err(|_| "an answer line is not UTF-8".to_string())
    }

    /// `n` bytes of content and the newline after them.
    fn content(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at + n;
        if self.bytes.get(end) != Some(&b'\n') {
            return Err("content length does not match".into());
        }
        let content = &self.bytes[self.at..end];
        self.at = end + 1;
        Ok(content)
    }
}

fn digest(hex: &str) -> Result<Observed, String> {
    let sha256 = Digest::from_hex(hex).ok_or_else(|| format!("`{hex}` is not a sha256 digest"))?;
    Ok(Observed::Hidden { sha256 })
}

/// The kernel name (`uname -s`) an observation starts with; the script stops after it on a
/// host of another OS.
pub fn observed_kernel(bytes: &[u8]) -> Option<&str> {
    let line = bytes.split(|b| *b == b'\n').next()?;
    std::str::from_utf8(line).ok()?.strip_prefix("U ")
}

/// Parses the output of `observe_script(os, probes)` into the state.
pub fn parse_observation(
    os: OsFamily,
    probes: &[Probe],
    bytes: &[u8],
) -> Result<HostState, String> {
    let mut reader = Reader { bytes, at: 0 };
    reader
        .line()?
        .strip_prefix("U ")
        .ok_or("the answer does not start with the kernel name")?;
    let mut state = HostState {
        os: Some(os),
        ..HostState::default()
    };
    loop {
        let line = reader.line()?;
        let fields: Vec<&str> = line.split(' ').collect();
        if fields == ["E"] {
            return Ok(state);
        }
        let index: usize = fields
            .get(1)
            .and_then(|i| i.parse().ok())
            .ok_or_else(|| format!("unreadable answer line `{line}`"))?;
        let probe = probes
            .get(index)
            .ok_or_else(|| format!("answer to no probe: `{line}`"))?;
        match (probe, &fields[..]) {
            (Probe::Path { path, .. }, [_, _, "file", mode, owner, group, how, value]) => {
                let content = match *how {
                    "text" => Observed::of(
                        reader.content(value.parse().map_err(|_| "bad length")?)?,
                        false,
                    ),
                    _ => digest(value)?,
                };
                state.files.insert(
                    path.clone(),
                    FileState {
                        content,
                        mode: normalize_mode(mode),
                        owner: owner.to_string(),
                        group: group.to_string(),
                    },
                );
            }
            (Probe::Path { path, .. }, [_, _, "dir", mode, owner, group]) => {
                let ownership = Ownership {
                    mode: normalize_mode(mode),
                    owner: owner.to_string(),
                    group: group.to_string(),
                };
                state.directories.insert(path.clone(), ownership);
            }
            (Probe::Path { .. }, [_, _, "absent"]) => {}
            (Probe::Path { path, .. }, [_, _, "other"]) => {
                return Err(format!("{path} is neither a file nor a directory"));
            }
            (Probe::RcVar { name, .. }, [_, _, "text", length]) => {
                let value = reader.content(length.parse().map_err(|_| "bad length")?)?;
                state
                    .rc_conf
                    .insert(name.clone(), Observed::of(value, false));
            }
            (Probe::RcVar { name, .. }, [_, _, "digest", hex]) => {
                state.rc_conf.insert(name.clone(), digest(hex)?);
            }
            (Probe::RcVar { .. }, [_, _, "unset"]) => {}
            (Probe::RcVar { name, .. }, [_, _, "unsupported"]) => {
                return Err(format!("this OS has no rc.conf to read `{name}` from"));
            }
            (Probe::Package { .. }, [_, _, "absent"]) => {}
            (Probe::Package { name }, [_, _, version]) => {
                state.packages.insert(name.clone(), version.to_string());
            }
            (Probe::Service { name }, [_, _, enabled, running]) => {
                let service = ServiceState {
                    enabled: *enabled == "yes",
                    running: *running == "yes",
                };
                state.services.insert(name.clone(), service);
            }
            (Probe::Device { .. }, [_, _, "absent"]) => {}
            (Probe::Device { path }, [_, _, what, rest @ ..]) => {
                let rest = rest.join(" ");
                let device = match *what {
                    "empty" => DeviceState::default(),
                    "fs" => DeviceState {
                        filesystem: Some(rest),
                        unreadable: None,
                    },
                    _ => DeviceState {
                        filesystem: None,
                        unreadable: Some(format!("{what} {rest}").trim().to_string()),
                    },
                };
                state.devices.insert(path.clone(), device);
            }
            (Probe::Pool { .. }, [_, _, "absent"]) => {}
            (Probe::Pool { name }, [_, _, health]) => {
                state.pools.insert(name.clone(), health.to_string());
            }
            (Probe::Dataset { .. }, [_, _, "absent"]) => {}
            (Probe::Dataset { name, .. }, [_, _, "present"]) => {
                let dataset = state.datasets.entry(name.clone()).or_default();
                loop {
                    let line = reader.line()?;
                    if line == format!("Y {index} end") {
                        break;
                    }
                    let (property, value) = line
                        .split_once('\t')
                        .ok_or_else(|| format!("unreadable property line `{line}`"))?;
                    dataset
                        .properties
                        .insert(property.to_string(), value.to_string());
                }
            }
            (Probe::Mount { .. }, [_, _, "absent"]) => {}
            (Probe::Mount { path }, [_, _, rest @ ..]) => {
                let words: Vec<&str> = rest.iter().copied().filter(|w| !w.is_empty()).collect();
                let [device, fstype] = words[..] else {
                    return Err(format!("unreadable mount line `{line}`"));
                };
                let mount = MountState {
                    device: device.to_string(),
                    fstype: fstype.to_string(),
                };
                state.mounts.insert(path.clone(), mount);
            }
            (Probe::KernelModule { name }, [_, _, loaded]) => {
                if *loaded == "yes" {
                    state.kernel_modules.insert(name.clone());
                }
            }
            (Probe::Certificate { .. }, [_, _, "absent"]) => {}
            (Probe::Certificate { path }, [_, _, "present"]) => {
                let mut field = |name: &str| -> Result<String, String> {
                    let line = reader.line()?;
                    line.strip_prefix(name)
                        .and_then(|rest| rest.strip_prefix('='))
                        .map(str::to_string)
                        .ok_or_else(|| format!("expected `{name}=` from openssl, got `{line}`"))
                };
                let certificate = CertificateState {
                    subject: field("subject")?,
                    issuer: field("issuer")?,
                    not_after: field("notAfter")?,
                };
                state.certificates.insert(path.clone(), certificate);
            }
            (Probe::Crontab { .. }, [_, _, "absent"]) => {}
            (Probe::Crontab { user }, [_, _, "text", length]) => {
                let value = reader.content(length.parse().map_err(|_| "bad length")?)?;
                state
                    .crontabs
                    .insert(user.clone(), Observed::of(value, false));
            }
            _ => return Err(format!("unexpected answer `{line}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Reveal;

    #[test]
    fn reads_every_kind_of_answer() {
        let probes = vec![
            Probe::Path {
                path: "/etc/exports".into(),
                reveal: Reveal::Text,
            },
            Probe::Path {
                path: "/data".into(),
                reveal: Reveal::Text,
            },
            Probe::RcVar {
                name: "zrepl_enable".into(),
                reveal: Reveal::Text,
            },
            Probe::Package {
                name: "zrepl".into(),
            },
            Probe::Service {
                name: "zrepl".into(),
            },
            Probe::Path {
                path: "/nope".into(),
                reveal: Reveal::Text,
            },
        ];
        let answer = b"U FreeBSD\nP 0 file 644 root wheel text 6\nV4: /\n\nP 1 dir 755 root wheel\nR 2 text 3\nYES\nK 3 0.6.1\nS 4 yes no\nP 5 absent\nE\n";
        assert_eq!(observed_kernel(answer), Some("FreeBSD"));
        let state = parse_observation(OsFamily::Freebsd, &probes, answer).unwrap();
        assert_eq!(
            state.files["/etc/exports"].content,
            Observed::Plain("V4: /\n".into())
        );
        assert_eq!(state.files["/etc/exports"].mode, "0644");
        assert_eq!(state.directories["/data"].owner, "root");
        assert_eq!(state.rc_conf["zrepl_enable"], Observed::Plain("YES".into()));
        assert_eq!(state.packages["zrepl"], "0.6.1");
        assert_eq!(
            state.services["zrepl"],
            ServiceState {
                enabled: true,
                running: false
            }
        );
        assert!(!state.files.contains_key("/nope"));
    }

    #[test]
    fn a_truncated_answer_is_an_error() {
        let probes = vec![Probe::Package {
            name: "zrepl".into(),
        }];
        assert!(parse_observation(OsFamily::Rocky, &probes, b"U Linux\nK 0 1.0\n").is_err());
        assert!(
            parse_observation(
                OsFamily::Rocky,
                &probes,
                b"U Linux\nP 0 file 644 root root text 99\nab\n"
            )
            .is_err()
        );
    }
}
