//! Authentication as OpenSSH tries it (ssh(1) AUTHENTICATION; ssh_config(5) IdentityFile and
//! IdentitiesOnly): the agent's keys first, if there is an agent (`SSH_AUTH_SOCK`), then the
//! identity files named for the host (the inventory's `identity_file`, else ssh_config's
//! IdentityFile), else the default ones that exist. A failure says what was tried: paths and
//! counts only, never a key.

use std::path::{Path, PathBuf};

use ssh2::{ErrorCode, Session};

use crate::transport::ssh_config::Endpoint;

/// ssh_config(5), IdentityFile: the default identities, in the order ssh tries them (those
/// libssh2 can use: not the `_sk` ones of security keys, nor DSA).
pub const DEFAULT_IDENTITIES: [&str; 3] = ["id_rsa", "id_ecdsa", "id_ed25519"];

/// Authenticates `session` as `endpoint.user`; on failure, what was tried, in words.
pub fn authenticate(session: &Session, endpoint: &Endpoint, home: &Path) -> Result<(), String> {
    let user = endpoint.user.as_str();
    let mut tried = Vec::new();
    if try_agent(session, endpoint, &mut tried) {
        return Ok(());
    }
    let (files, named) = match endpoint.identity_files.is_empty() {
        false => (endpoint.identity_files.clone(), true),
        true => (
            DEFAULT_IDENTITIES
                .iter()
                .map(|name| home.join(".ssh").join(name))
                .collect::<Vec<PathBuf>>(),
            false,
        ),
    };
    let mut found_default = false;
    for file in &files {
        if !file.exists() {
            // ssh passes over a default identity that is not there; one named for the host
            // is worth a word.
            if named {
                tried.push(format!("{} (no such file)", file.display()));
            }
            continue;
        }
        found_default = true;
        let public = public_key_of(file);
        match session.userauth_pubkey_file(user, public.as_deref(), file, None) {
            Ok(()) if session.authenticated() => return Ok(()),
            Ok(()) => tried.push(format!("{} (not accepted)", file.display())),
            Err(e) => tried.push(format!("{} ({})", file.display(), refusal(&e))),
        }
    }
    if !named && !found_default {
        tried.push(format!(
            "no default identity in {} ({})",
            home.join(".ssh").display(),
            DEFAULT_IDENTITIES.join(", ")
        ));
    }
    Err(format!("tried: {}", tried.join("; ")))
}

/// Tries the agent's keys (with IdentitiesOnly, only those of the identity files named);
/// true once one is accepted. What happened goes into `tried`.
fn try_agent(session: &Session, endpoint: &Endpoint, tried: &mut Vec<String>) -> bool {
    if std::env::var_os("SSH_AUTH_SOCK").is_none_or(|sock| sock.is_empty()) {
        tried.push("no agent (SSH_AUTH_SOCK is not set)".into());
        return false;
    }
    let keys = session.agent().and_then(|mut agent| {
        agent.connect()?;
        agent.list_identities()?;
        let keys = agent.identities()?;
        Ok((agent, keys))
    });
    let (agent, mut keys) = match keys {
        Ok(found) => found,
        Err(e) => {
            tried.push(format!("the agent ({})", e.message()));
            return false;
        }
    };
    if endpoint.identities_only {
        let wanted: Vec<Vec<u8>> = endpoint
            .identity_files
            .iter()
            .filter_map(|file| public_blob(file))
            .collect();
        keys.retain(|key| wanted.iter().any(|blob| blob == key.blob()));
    }
    for key in &keys {
        if agent.userauth(&endpoint.user, key).is_ok() && session.authenticated() {
            return true;
        }
    }
    let only = if endpoint.identities_only {
        " of the identity files (IdentitiesOnly)"
    } else {
        ""
    };
    tried.push(match keys.len() {
        0 => format!("the agent (no keys{only})"),
        1 => format!("the agent's key{only} (not accepted)"),
        n => format!("the agent's {n} keys{only} (none accepted)"),
    });
    false
}

/// `FILE.pub` beside a private key, if there is one (libssh2 then need not derive it).
fn public_key_of(file: &Path) -> Option<PathBuf> {
    let mut public = file.as_os_str().to_owned();
    public.push(".pub");
    let public = PathBuf::from(public);
    public.exists().then_some(public)
}

/// The key blob of `FILE.pub` (or of FILE, if it is itself a public key): its second field,
/// base64 (sshd(8), AUTHORIZED_KEYS FILE FORMAT).
fn public_blob(file: &Path) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let text = public_key_of(file)
        .and_then(|public| std::fs::read_to_string(public).ok())
        .or_else(|| {
            std::fs::read_to_string(file)
                .ok()
                .filter(|t| t.starts_with("ssh-") || t.starts_with("ecdsa-"))
        })?;
    let encoded = text.split_whitespace().nth(1)?;
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
}

/// Why a key was refused, in words (libssh2.h's codes); a key file's own trouble (encrypted,
/// unreadable) in libssh2's words.
fn refusal(error: &ssh2::Error) -> String {
    match error.code() {
        ErrorCode::Session(-18 | -19) => "not accepted".into(),
        ErrorCode::Session(-16) => format!("cannot use the file: {}", error.message()),
        _ => error.message().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_key_file_gives_its_blob() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("id_x");
        std::fs::write(&key, "PRIVATE").unwrap();
        std::fs::write(dir.path().join("id_x.pub"), "ssh-ed25519 AAECAw== c\n").unwrap();
        assert_eq!(public_blob(&key), Some(vec![0, 1, 2, 3]));
        assert_eq!(public_blob(&dir.path().join("none")), None);
    }
}
