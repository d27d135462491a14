//! What an operation makes of a host's state, as far as it can be known before it runs: the
//! planner's prediction of the state after each step, and what the fixture transport applies.

use crate::host_state::{
    CarpState, CertificateState, DatasetState, DeviceState, FileState, HostState, MountState,
    Ownership,
};
use crate::op::Op;
use crate::sensitive::Observed;
use crate::zfs_property;

/// The state after `op` ran, as far as it can be known before it runs. A write's
/// `validate` command cannot run here (there is no host): the prediction is that the check
/// passes, as the plan is what happens when it does; a failing check fails the resource at
/// apply and leaves the file as it was. The backups a write keeps are the host's own
/// bookkeeping, not state a resource manages, so they are not predicted either.
pub fn apply(state: &mut HostState, op: &Op) {
    match op {
        Op::WriteFile {
            path,
            content,
            ownership,
            ..
        } => {
            state.directories.remove(path);
            state
                .files
                .insert(path.clone(), file(Observed::from_text(content), ownership));
        }
        Op::CopyFile {
            path, ownership, ..
        }
        | Op::GenerateSecret {
            path, ownership, ..
        } => {
            state.directories.remove(path);
            state
                .files
                .insert(path.clone(), file(Observed::KnownAfterApply, ownership));
        }
        Op::SetOwnership { path, ownership } => {
            if let Some(existing) = state.files.get_mut(path) {
                *existing = file(existing.content.clone(), ownership);
            } else if let Some(dir) = state.directories.get_mut(path) {
                *dir = ownership.clone();
            }
        }
        Op::CreateDirectory { path, ownership } => {
            state.files.remove(path);
            state.directories.insert(path.clone(), ownership.clone());
        }
        Op::RemovePath { path } => {
            state.files.remove(path);
            state.occupied.remove(path);
            let inside = format!("{}/", path.trim_end_matches('/'));
            state
                .directories
                .retain(|dir, _| dir != path && !dir.starts_with(&inside));
            state.files.retain(|file, _| !file.starts_with(&inside));
        }
        Op::RemoveFile { path } => {
            state.files.remove(path);
            emptied_above(state, path);
        }
        Op::RemoveDirectory { path } => {
            state.directories.remove(path);
            state.occupied.remove(path);
            emptied_above(state, path);
        }
        Op::UnsetRcVar { name } => {
            state.rc_conf.remove(name);
        }
        Op::RemovePackage { name } => {
            state.packages.remove(name);
        }
        Op::Unmount { path } => {
            state.mounts.remove(path);
        }
        Op::SetRcVar { name, value } => {
            state
                .rc_conf
                .insert(name.clone(), Observed::from_text(value));
        }
        Op::InstallPackage { name } => {
            state
                .packages
                .insert(name.clone(), "(known after apply)".into());
        }
        Op::EnableService { name } => {
            state.services.entry(name.clone()).or_default().enabled = Some(true)
        }
        Op::DisableService { name } => {
            state.services.entry(name.clone()).or_default().enabled = Some(false)
        }
        Op::StartService { name } => {
            state.services.entry(name.clone()).or_default().running = Some(true);
        }
        Op::StopService { name } => {
            state.services.entry(name.clone()).or_default().running = Some(false)
        }
        Op::NewFs { device, .. } => {
            state.devices.insert(device.clone(), formatted("ufs"));
        }
        Op::CreatePool {
            name,
            devices,
            mountpoint,
            ..
        } => {
            for device in devices {
                state.devices.insert(device.clone(), formatted("zfs"));
            }
            state.pools.insert(name.clone(), "ONLINE".into());
            let properties = [("mountpoint", mountpoint.as_str()), ("mounted", "yes")];
            state.datasets.insert(name.clone(), dataset(properties));
        }
        Op::CreateDataset { name, properties } => {
            let mounted = if zfs_property::mounts_on_create(properties) {
                "yes"
            } else {
                "no"
            };
            let mut created = dataset([("mounted", mounted), ("readonly", "off")]);
            created.properties.extend(properties.clone());
            if properties.get("encryption").is_some_and(|e| e != "off") {
                created
                    .properties
                    .insert("keystatus".into(), "available".into());
            }
            state.datasets.insert(name.clone(), created);
        }
        Op::SetDatasetProperty {
            name,
            property,
            value,
        } => {
            set_property(state, name, property, value);
            if zfs_property::unmounts(property, value) {
                set_property(state, name, "mounted", "no");
            }
        }
        // The key of an encryption root opens every dataset that shares it.
        Op::LoadKey { dataset } => {
            set_property(state, dataset, "keystatus", "available");
            let sharing: Vec<String> = state
                .datasets
                .iter()
                .filter(|(_, shared)| {
                    shared.properties.get("encryptionroot").map(String::as_str)
                        == Some(dataset.as_str())
                })
                .map(|(name, _)| name.clone())
                .collect();
            for name in sharing {
                set_property(state, &name, "keystatus", "available");
            }
        }
        Op::MountDataset { dataset } => set_property(state, dataset, "mounted", "yes"),
        Op::Mount {
            path,
            device,
            fstype,
        } => {
            let mount = MountState {
                device: device.clone(),
                fstype: fstype.clone(),
            };
            state.mounts.insert(path.clone(), mount);
        }
        Op::LoadKernelModule { name } => {
            state.kernel_modules.insert(name.clone());
        }
        Op::AddCarpAddress {
            interface,
            address,
            vhid,
            becomes,
            ..
        } => {
            let carp = CarpState {
                interface: interface.clone(),
                vhid: Some(*vhid),
                state: *becomes,
                key: None,
            };
            state.carp.insert(address.clone(), carp);
        }
        Op::SetCarpKey {
            address, password, ..
        } => {
            if let Some(carp) = state.carp.get_mut(address) {
                carp.key = Some(Observed::from_text(password).hidden());
            }
        }
        Op::WriteCrontab { user, content } => {
            state
                .crontabs
                .insert(user.clone(), Observed::from_text(content));
        }
        // A refresh leaves a service as it was: running, or unable to tell.
        Op::ReloadUnits | Op::RefreshService { .. } => {}
        Op::CreateKey {
            path, ownership, ..
        } => {
            state
                .files
                .insert(path.clone(), file(Observed::KnownAfterApply, ownership));
        }
        Op::IssueCertificate {
            cert, subject, ca, ..
        } => {
            let issuer = match ca {
                None => Some(subject.clone()),
                Some(ca) => state.certificates.get(&ca.cert).map(|c| c.subject.clone()),
            };
            let issued = CertificateState {
                subject: subject.clone(),
                issuer: issuer.unwrap_or_else(|| "(known after apply)".into()),
                not_after: "(known after apply)".into(),
            };
            state.certificates.insert(cert.clone(), issued);
            let ownership = Ownership {
                mode: "0644".into(),
                owner: "root".into(),
                group: state.os.map_or("root", |os| os.root_group()).into(),
            };
            state
                .files
                .insert(cert.clone(), file(Observed::KnownAfterApply, &ownership));
        }
    }
}

/// What f3s removes from a directory may have been all it held: the directory is no longer
/// known to be occupied, so removing it too is planned as `rmdir`, which refuses (nothing
/// lost) where something else is still in it.
fn emptied_above(state: &mut HostState, path: &str) {
    if let Some(parent) = crate::names::parent_dir(path) {
        state.occupied.remove(parent);
    }
}

fn formatted(filesystem: &str) -> DeviceState {
    DeviceState {
        filesystem: Some(filesystem.into()),
        unreadable: None,
    }
}

fn dataset<'a>(properties: impl IntoIterator<Item = (&'a str, &'a str)>) -> DatasetState {
    DatasetState {
        properties: properties
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn set_property(state: &mut HostState, dataset: &str, property: &str, value: &str) {
    if let Some(dataset) = state.datasets.get_mut(dataset) {
        dataset
            .properties
            .insert(property.to_string(), value.to_string());
    }
}

fn file(content: Observed, ownership: &Ownership) -> FileState {
    FileState {
        content,
        mode: ownership.mode.clone(),
        owner: ownership.owner.clone(),
        group: ownership.group.clone(),
    }
}
