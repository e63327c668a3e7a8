//! Which block devices may be overwritten.
//!
//! [`check_device`] is a pure function over a description of the system
//! ([`SystemFacts`]: the mount table text, the swap table text and facts
//! from sysfs), so every refusal is unit-tested without real devices.
//! [`SystemFacts::read`] is the thin layer that reads the real `/proc` and
//! `/sys`.

use std::fmt;
use std::path::{Path, PathBuf};

/// A device number, as `major:minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DevNum {
    pub major: u32,
    pub minor: u32,
}

impl DevNum {
    /// Parses `"8:17"` (sysfs `dev` files, mountinfo field 3).
    pub fn parse(s: &str) -> Option<DevNum> {
        let (a, b) = s.trim().split_once(':')?;
        Some(DevNum {
            major: a.parse().ok()?,
            minor: b.parse().ok()?,
        })
    }

    /// Splits a `st_rdev` as glibc's `major()`/`minor()` do.
    pub fn from_rdev(rdev: u64) -> DevNum {
        DevNum {
            major: (((rdev >> 32) & 0xffff_f000) | ((rdev >> 8) & 0xfff)) as u32,
            minor: (((rdev >> 12) & 0xffff_ff00) | (rdev & 0xff)) as u32,
        }
    }
}

impl fmt::Display for DevNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

/// A block device stacked on a disk or its partitions (device mapper,
/// LUKS, LVM, md), found through sysfs `holders`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HolderFacts {
    /// Kernel name, e.g. `dm-0`.
    pub name: String,
    pub dev: Option<DevNum>,
    /// Device-mapper name (`/dev/mapper/<dm_name>`), if any.
    pub dm_name: Option<String>,
}

/// A partition of a disk.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartitionFacts {
    pub name: String,
    pub dev: Option<DevNum>,
}

/// What sysfs tells about one whole disk (`/sys/block/<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiskFacts {
    /// Kernel name, e.g. `sdb`, `mmcblk0`.
    pub name: String,
    pub dev: Option<DevNum>,
    /// Size in bytes (`size` × 512).
    pub size: u64,
    /// The `removable` attribute.
    pub removable: bool,
    /// Canonical sysfs device path (target of the `/sys/block/<name>`
    /// link), e.g. `/sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/.../block/sdb`.
    pub device_path: String,
    /// `device/type` of MMC devices: `SD` for cards, `MMC` for soldered eMMC.
    pub mmc_type: Option<String>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub partitions: Vec<PartitionFacts>,
    /// Everything stacked on the disk or its partitions, transitively.
    pub holders: Vec<HolderFacts>,
}

impl DiskFacts {
    /// USB-attached (whatever the `removable` bit says: many USB card
    /// readers and SSD enclosures report 0).
    pub fn is_usb(&self) -> bool {
        self.device_path.contains("/usb")
    }

    /// An SD card in a built-in reader (MMC bus, card type SD); soldered
    /// eMMC reports `MMC` and is not removable.
    pub fn is_sd_card(&self) -> bool {
        self.mmc_type.as_deref() == Some("SD")
    }

    fn transport(&self) -> &'static str {
        if self.is_usb() {
            "usb"
        } else if self.is_sd_card() {
            "sd"
        } else {
            "removable"
        }
    }
}

/// A description of the system: everything the safety checks look at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SystemFacts {
    /// Text of `/proc/self/mountinfo`.
    pub mountinfo: String,
    /// Text of `/proc/swaps`.
    pub swaps: String,
    /// Every whole disk in `/sys/block`.
    pub disks: Vec<DiskFacts>,
}

/// A drive that would be overwritten, for the CLI to show before asking.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceInfo {
    /// The path as given, e.g. `/dev/sdb`.
    pub path: String,
    /// Kernel name, e.g. `sdb`.
    pub name: String,
    pub size: u64,
    pub vendor: Option<String>,
    pub model: Option<String>,
    /// `usb`, `sd` or `removable`.
    pub transport: String,
}

impl fmt::Display for DeviceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (", self.path)?;
        let desc: Vec<&str> = [self.vendor.as_deref(), self.model.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
        if !desc.is_empty() {
            write!(f, "{}, ", desc.join(" "))?;
        }
        write!(f, "{}, {})", human_size(self.size), self.transport)
    }
}

/// `31.9 GB` style sizes (decimal, as drives are sold).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Why a target is refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    /// No `/sys/block` entry for the device number.
    UnknownDevice { dev: String },
    /// A partition, not a whole disk.
    Partition { disk: String },
    /// The disk or one of its partitions (or something stacked on them) is
    /// mounted.
    Mounted { mount_points: Vec<String> },
    /// Used as swap.
    Swap { devices: Vec<String> },
    /// Holds `/` or `/boot`: the running system.
    SystemDisk { mount_points: Vec<String> },
    /// Not removable, not USB, not an SD card.
    NotRemovable,
    /// Smaller than the image.
    TooSmall { size: u64, needed: u64 },
    /// The target is the image itself.
    IsImage,
    /// The same target is named twice.
    Duplicate { first: String },
    /// Neither a block device nor a regular file (or a path to create).
    NotAFileOrDisk { what: String },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnknownDevice { dev } => write!(
                f,
                "is a block device ({dev}) with no /sys/block entry; name a whole disk such as /dev/sdb"
            ),
            Refusal::Partition { disk } => write!(
                f,
                "is a partition of /dev/{disk}; an image goes on the whole disk: name /dev/{disk}"
            ),
            Refusal::Mounted { mount_points } => write!(
                f,
                "is mounted at {}; unmount it first (umount), and make sure it is the right drive",
                mount_points.join(", ")
            ),
            Refusal::Swap { devices } => write!(
                f,
                "is in use as swap ({}); run swapoff first, and make sure it is the right drive",
                devices.join(", ")
            ),
            Refusal::SystemDisk { mount_points } => write!(
                f,
                "holds the running system ({}); this is never a drop target",
                mount_points.join(", ")
            ),
            Refusal::NotRemovable => write!(
                f,
                "is not a removable drive (not USB, not an SD card): an internal disk is never a drop target"
            ),
            Refusal::TooSmall { size, needed } => write!(
                f,
                "is too small: {} ({size} bytes) for an image of {} ({needed} bytes); use a bigger drive",
                human_size(*size),
                human_size(*needed)
            ),
            Refusal::IsImage => write!(f, "is the image itself; name another file or a drive"),
            Refusal::Duplicate { first } => {
                write!(f, "is the same target as {first}; name each target once")
            }
            Refusal::NotAFileOrDisk { what } => write!(
                f,
                "is {what}; a target is a whole removable disk (/dev/sdX) or an image file path"
            ),
        }
    }
}

/// One mountinfo line, the parts we need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub dev: Option<DevNum>,
    pub mount_point: String,
    pub source: String,
}

/// Parses `/proc/self/mountinfo` text; malformed lines are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    let mut out = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        // id parent major:minor root mount-point options [optional...] - fstype source super
        let Some(sep) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        if fields.len() < 5 || sep < 6 || fields.len() < sep + 3 {
            continue;
        }
        out.push(Mount {
            dev: DevNum::parse(fields[2]),
            mount_point: unescape_octal(fields[4]),
            source: unescape_octal(fields[sep + 2]),
        });
    }
    out
}

/// Undoes the kernel's `\040`-style escapes (space, tab, newline, `\`).
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Mount points that mean "this disk runs the system".
const SYSTEM_MOUNTS: [&str; 4] = ["/", "/boot", "/boot/efi", "/efi"];

/// Checks that the block device `path` (device number `dev`) may receive an
/// image of `image_len` bytes. Pure: looks only at `facts`. Returns what the
/// CLI shows before asking, or every reason to refuse.
pub fn check_device(
    facts: &SystemFacts,
    path: &Path,
    dev: DevNum,
    image_len: u64,
) -> Result<DeviceInfo, Vec<Refusal>> {
    let Some(disk) = facts.disks.iter().find(|d| d.dev == Some(dev)) else {
        if let Some(disk) = facts
            .disks
            .iter()
            .find(|d| d.partitions.iter().any(|p| p.dev == Some(dev)))
        {
            return Err(vec![Refusal::Partition {
                disk: disk.name.clone(),
            }]);
        }
        return Err(vec![Refusal::UnknownDevice {
            dev: dev.to_string(),
        }]);
    };

    // Everything that belongs to this disk: names and device numbers.
    let mut names: Vec<&str> = vec![disk.name.as_str()];
    let mut devs: Vec<DevNum> = disk.dev.into_iter().collect();
    for p in &disk.partitions {
        names.push(&p.name);
        devs.extend(p.dev);
    }
    let mut mapper: Vec<&str> = Vec::new();
    for h in &disk.holders {
        names.push(&h.name);
        devs.extend(h.dev);
        if let Some(m) = &h.dm_name {
            mapper.push(m);
        }
    }
    let belongs = |source: &str, d: Option<DevNum>| {
        if d.is_some_and(|d| devs.contains(&d)) {
            return true;
        }
        if let Some(m) = source.strip_prefix("/dev/mapper/") {
            return mapper.contains(&m);
        }
        match source.strip_prefix("/dev/") {
            Some(n) => names.contains(&n),
            None => false,
        }
    };

    let mut refusals = Vec::new();
    let mut mounted = Vec::new();
    let mut system = Vec::new();
    for m in parse_mountinfo(&facts.mountinfo) {
        if belongs(&m.source, m.dev) {
            if SYSTEM_MOUNTS.contains(&m.mount_point.as_str()) {
                system.push(m.mount_point.clone());
            }
            mounted.push(m.mount_point);
        }
    }
    mounted.sort();
    mounted.dedup();
    system.sort();
    system.dedup();
    if !system.is_empty() {
        refusals.push(Refusal::SystemDisk {
            mount_points: system,
        });
    }
    if !mounted.is_empty() {
        refusals.push(Refusal::Mounted {
            mount_points: mounted,
        });
    }
    let swaps: Vec<String> = facts
        .swaps
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .filter(|f| belongs(f, None))
        .map(str::to_string)
        .collect();
    if !swaps.is_empty() {
        refusals.push(Refusal::Swap { devices: swaps });
    }
    if !(disk.removable || disk.is_usb() || disk.is_sd_card()) {
        refusals.push(Refusal::NotRemovable);
    }
    if disk.size < image_len {
        refusals.push(Refusal::TooSmall {
            size: disk.size,
            needed: image_len,
        });
    }
    if !refusals.is_empty() {
        return Err(refusals);
    }
    Ok(DeviceInfo {
        path: path.display().to_string(),
        name: disk.name.clone(),
        size: disk.size,
        vendor: disk.vendor.clone(),
        model: disk.model.clone(),
        transport: disk.transport().to_string(),
    })
}

/// An error reading the system description.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path} to check that the targets are safe to overwrite: {source}")]
pub struct FactsError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl SystemFacts {
    /// Reads the real `/proc/self/mountinfo`, `/proc/swaps` and `/sys/block`.
    pub fn read() -> Result<SystemFacts, FactsError> {
        Self::read_from(
            Path::new("/proc/self/mountinfo"),
            Path::new("/proc/swaps"),
            Path::new("/sys/block"),
        )
    }

    /// Reads the given mount table, swap table and sysfs block directory
    /// (tests pass a synthetic tree). A missing swap table means no swap.
    pub fn read_from(
        mountinfo: &Path,
        swaps: &Path,
        sys_block: &Path,
    ) -> Result<SystemFacts, FactsError> {
        let err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| FactsError { path, source }
        };
        let mountinfo_text = std::fs::read_to_string(mountinfo).map_err(err(mountinfo))?;
        let swaps_text = std::fs::read_to_string(swaps).unwrap_or_default();
        let mut disks = Vec::new();
        let mut names: Vec<String> = std::fs::read_dir(sys_block)
            .map_err(err(sys_block))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            disks.push(read_disk(sys_block, &name));
        }
        Ok(SystemFacts {
            mountinfo: mountinfo_text,
            swaps: swaps_text,
            disks,
        })
    }
}

fn read_attr(p: &Path) -> Option<String> {
    let s = std::fs::read_to_string(p).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn read_disk(sys_block: &Path, name: &str) -> DiskFacts {
    let dir = sys_block.join(name);
    let device_path = std::fs::canonicalize(&dir)
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut partitions = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&dir) {
        let mut subs: Vec<String> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        subs.sort();
        for s in subs {
            if dir.join(&s).join("partition").exists() {
                partitions.push(PartitionFacts {
                    dev: read_attr(&dir.join(&s).join("dev")).and_then(|d| DevNum::parse(&d)),
                    name: s,
                });
            }
        }
    }
    let mut holders = Vec::new();
    let mut seen = Vec::new();
    collect_holders(sys_block, &dir, &mut holders, &mut seen, 0);
    for p in &partitions {
        collect_holders(sys_block, &dir.join(&p.name), &mut holders, &mut seen, 0);
    }
    DiskFacts {
        name: name.to_string(),
        dev: read_attr(&dir.join("dev")).and_then(|d| DevNum::parse(&d)),
        size: read_attr(&dir.join("size"))
            .and_then(|s| s.parse::<u64>().ok())
            .map_or(0, |s| s.saturating_mul(512)),
        removable: read_attr(&dir.join("removable")).as_deref() == Some("1"),
        device_path,
        mmc_type: read_attr(&dir.join("device/type")),
        vendor: read_attr(&dir.join("device/vendor")),
        model: read_attr(&dir.join("device/model")).or_else(|| read_attr(&dir.join("device/name"))),
        partitions,
        holders,
    }
}

fn collect_holders(
    sys_block: &Path,
    dir: &Path,
    out: &mut Vec<HolderFacts>,
    seen: &mut Vec<String>,
    depth: usize,
) {
    if depth > 8 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir.join("holders")) else {
        return;
    };
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names {
        if seen.contains(&n) {
            continue;
        }
        seen.push(n.clone());
        let hdir = sys_block.join(&n);
        out.push(HolderFacts {
            dev: read_attr(&hdir.join("dev")).and_then(|d| DevNum::parse(&d)),
            dm_name: read_attr(&hdir.join("dm/name")),
            name: n,
        });
        collect_holders(sys_block, &hdir, out, seen, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USB_PATH: &str =
        "/sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb";
    const SATA_PATH: &str =
        "/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda";

    fn dn(a: u32, b: u32) -> Option<DevNum> {
        Some(DevNum { major: a, minor: b })
    }

    fn sda() -> DiskFacts {
        DiskFacts {
            name: "sda".into(),
            dev: dn(8, 0),
            size: 500_000_000_000,
            removable: false,
            device_path: SATA_PATH.into(),
            vendor: Some("ATA".into()),
            model: Some("Samsung SSD 860".into()),
            partitions: vec![
                PartitionFacts {
                    name: "sda1".into(),
                    dev: dn(8, 1),
                },
                PartitionFacts {
                    name: "sda2".into(),
                    dev: dn(8, 2),
                },
            ],
            ..Default::default()
        }
    }

    fn sdb() -> DiskFacts {
        DiskFacts {
            name: "sdb".into(),
            dev: dn(8, 16),
            size: 32_000_000_000,
            removable: false, // many USB readers say 0: USB is enough
            device_path: USB_PATH.into(),
            vendor: Some("SanDisk".into()),
            model: Some("Ultra".into()),
            partitions: vec![PartitionFacts {
                name: "sdb1".into(),
                dev: dn(8, 17),
            }],
            ..Default::default()
        }
    }

    fn mmc(kind: &str, n: u32) -> DiskFacts {
        DiskFacts {
            name: format!("mmcblk{n}"),
            dev: dn(179, n * 8),
            size: 16_000_000_000,
            device_path: format!(
                "/sys/devices/platform/soc/mmc_host/mmc{n}/mmc{n}:0001/block/mmcblk{n}"
            ),
            mmc_type: Some(kind.into()),
            ..Default::default()
        }
    }

    const ROOT_ON_SDA2: &str = "\
22 27 0:21 / /proc rw,relatime shared:5 - proc proc rw
27 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw
28 27 8:1 / /boot/efi rw,relatime shared:2 - vfat /dev/sda1 rw
";

    fn facts(mountinfo: &str, disks: Vec<DiskFacts>) -> SystemFacts {
        SystemFacts {
            mountinfo: mountinfo.into(),
            swaps: "Filename\tType\tSize\tUsed\tPriority\n".into(),
            disks,
        }
    }

    fn check(f: &SystemFacts, path: &str, dev: Option<DevNum>) -> Result<DeviceInfo, Vec<Refusal>> {
        check_device(f, Path::new(path), dev.unwrap(), 1_000_000_000)
    }

    #[test]
    fn usb_stick_unmounted_is_accepted_with_description() {
        let f = facts(ROOT_ON_SDA2, vec![sda(), sdb()]);
        let info = check(&f, "/dev/sdb", dn(8, 16)).unwrap();
        assert_eq!(info.name, "sdb");
        assert_eq!(info.transport, "usb");
        assert_eq!(info.to_string(), "/dev/sdb (SanDisk Ultra, 32.0 GB, usb)");
    }

    #[test]
    fn system_disk_is_refused_as_system_mounted_and_internal() {
        let f = facts(ROOT_ON_SDA2, vec![sda(), sdb()]);
        let r = check(&f, "/dev/sda", dn(8, 0)).unwrap_err();
        assert_eq!(
            r,
            vec![
                Refusal::SystemDisk {
                    mount_points: vec!["/".into(), "/boot/efi".into()]
                },
                Refusal::Mounted {
                    mount_points: vec!["/".into(), "/boot/efi".into()]
                },
                Refusal::NotRemovable,
            ]
        );
    }

    #[test]
    fn mounted_partition_refuses_the_disk_with_escaped_mount_point() {
        let mi =
            format!("{ROOT_ON_SDA2}40 27 8:17 / /media/user/MY\\040STICK rw - vfat /dev/sdb1 rw\n");
        let f = facts(&mi, vec![sda(), sdb()]);
        let r = check(&f, "/dev/sdb", dn(8, 16)).unwrap_err();
        assert_eq!(
            r,
            vec![Refusal::Mounted {
                mount_points: vec!["/media/user/MY STICK".into()]
            }]
        );
        assert!(r[0].to_string().contains("unmount it first"));
    }

    #[test]
    fn btrfs_style_mount_matched_by_source_name() {
        // btrfs reports an anonymous 0:NN device; the source names the partition.
        let mi = format!("{ROOT_ON_SDA2}41 27 0:45 / /mnt rw - btrfs /dev/sdb1 rw\n");
        let f = facts(&mi, vec![sda(), sdb()]);
        assert!(matches!(
            &check(&f, "/dev/sdb", dn(8, 16)).unwrap_err()[..],
            [Refusal::Mounted { .. }]
        ));
    }

    #[test]
    fn luks_on_a_partition_mounted_through_device_mapper() {
        let mut d = sdb();
        d.holders = vec![HolderFacts {
            name: "dm-3".into(),
            dev: dn(254, 3),
            dm_name: Some("luks-x".into()),
        }];
        let by_dev =
            format!("{ROOT_ON_SDA2}42 27 254:3 / /secret rw - ext4 /dev/mapper/luks-x rw\n");
        let f = facts(&by_dev, vec![sda(), d.clone()]);
        assert!(matches!(
            &check(&f, "/dev/sdb", dn(8, 16)).unwrap_err()[..],
            [Refusal::Mounted { .. }]
        ));
        let by_name =
            format!("{ROOT_ON_SDA2}42 27 0:50 / /secret rw - btrfs /dev/mapper/luks-x rw\n");
        let f = facts(&by_name, vec![sda(), d]);
        assert!(matches!(
            &check(&f, "/dev/sdb", dn(8, 16)).unwrap_err()[..],
            [Refusal::Mounted { .. }]
        ));
    }

    #[test]
    fn swap_partition_is_refused() {
        let mut f = facts(ROOT_ON_SDA2, vec![sda(), sdb()]);
        f.swaps.push_str("/dev/sdb1 partition\t1000\t0\t-2\n");
        assert_eq!(
            check(&f, "/dev/sdb", dn(8, 16)).unwrap_err(),
            vec![Refusal::Swap {
                devices: vec!["/dev/sdb1".into()]
            }]
        );
    }

    #[test]
    fn partition_and_unknown_devices_are_refused() {
        let f = facts(ROOT_ON_SDA2, vec![sda(), sdb()]);
        assert_eq!(
            check(&f, "/dev/sdb1", dn(8, 17)).unwrap_err(),
            vec![Refusal::Partition { disk: "sdb".into() }]
        );
        assert_eq!(
            check(&f, "/dev/x", dn(9, 9)).unwrap_err(),
            vec![Refusal::UnknownDevice { dev: "9:9".into() }]
        );
    }

    #[test]
    fn internal_disk_not_removable_but_flag_or_sd_card_is() {
        let mut internal = sda();
        internal.name = "sdc".into();
        internal.dev = dn(8, 32);
        internal.partitions.clear();
        let f = facts(
            ROOT_ON_SDA2,
            vec![sda(), internal.clone(), mmc("SD", 1), mmc("MMC", 0)],
        );
        assert_eq!(
            check(&f, "/dev/sdc", dn(8, 32)).unwrap_err(),
            vec![Refusal::NotRemovable]
        );
        assert_eq!(
            check(&f, "/dev/mmcblk1", dn(179, 8)).unwrap().transport,
            "sd"
        );
        assert_eq!(
            check(&f, "/dev/mmcblk0", dn(179, 0)).unwrap_err(),
            vec![Refusal::NotRemovable]
        );
        internal.removable = true;
        let f = facts(ROOT_ON_SDA2, vec![internal]);
        assert_eq!(
            check(&f, "/dev/sdc", dn(8, 32)).unwrap().transport,
            "removable"
        );
    }

    #[test]
    fn too_small_device_is_refused() {
        let mut d = sdb();
        d.size = 999_999_488;
        let f = facts(ROOT_ON_SDA2, vec![d]);
        assert_eq!(
            check(&f, "/dev/sdb", dn(8, 16)).unwrap_err(),
            vec![Refusal::TooSmall {
                size: 999_999_488,
                needed: 1_000_000_000
            }]
        );
    }

    #[test]
    fn mountinfo_parsing_tolerates_optional_fields_and_garbage() {
        let m = parse_mountinfo(
            "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:2 - ext3 /dev/root rw\nbogus line\n\n",
        );
        assert_eq!(
            m,
            vec![Mount {
                dev: dn(98, 0),
                mount_point: "/mnt2".into(),
                source: "/dev/root".into()
            }]
        );
        assert_eq!(unescape_octal("a\\040b\\134c\\011"), "a b\\c\t");
        assert_eq!(unescape_octal("trail\\04"), "trail\\04");
    }

    #[test]
    fn rdev_split_matches_glibc() {
        assert_eq!(
            DevNum::from_rdev(0x0811),
            DevNum {
                major: 8,
                minor: 17
            }
        );
        assert_eq!(
            DevNum::from_rdev(0xfe00),
            DevNum {
                major: 254,
                minor: 0
            }
        );
        // Large minor numbers (e.g. 259:300)
        let rdev = ((259u64 & 0xfff) << 8) | (300u64 & 0xff) | ((300u64 & !0xff) << 12);
        assert_eq!(
            DevNum::from_rdev(rdev),
            DevNum {
                major: 259,
                minor: 300
            }
        );
    }

    #[test]
    fn sysfs_reader_over_a_synthetic_tree() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let dev = root.join("devices/pci0000:00/0000:00:14.0/usb2/2-1/host6/block/sdb");
        std::fs::create_dir_all(dev.join("sdb1/holders")).unwrap();
        std::fs::create_dir_all(dev.join("device")).unwrap();
        let w = |p: std::path::PathBuf, s: &str| std::fs::write(p, s).unwrap();
        w(dev.join("dev"), "8:16\n");
        w(dev.join("size"), "62521344\n");
        w(dev.join("removable"), "0\n");
        w(dev.join("device/vendor"), "SanDisk \n");
        w(dev.join("device/model"), "Cruzer Blade    \n");
        w(dev.join("sdb1/partition"), "1\n");
        w(dev.join("sdb1/dev"), "8:17\n");
        let dm = root.join("devices/virtual/block/dm-0");
        std::fs::create_dir_all(dm.join("dm")).unwrap();
        w(dm.join("dev"), "254:0\n");
        w(dm.join("dm/name"), "luks-1\n");
        let block = root.join("block");
        std::fs::create_dir_all(&block).unwrap();
        std::os::unix::fs::symlink(&dev, block.join("sdb")).unwrap();
        std::os::unix::fs::symlink(&dm, block.join("dm-0")).unwrap();
        std::os::unix::fs::symlink(&dm, dev.join("sdb1/holders/dm-0")).unwrap();
        w(root.join("mountinfo"), ROOT_ON_SDA2);
        let f = SystemFacts::read_from(&root.join("mountinfo"), &root.join("no-swaps"), &block)
            .unwrap();
        assert_eq!(f.swaps, "");
        let d = f.disks.iter().find(|d| d.name == "sdb").unwrap();
        assert_eq!(d.size, 62521344 * 512);
        assert!(d.is_usb() && !d.removable);
        assert_eq!(d.vendor.as_deref(), Some("SanDisk"));
        assert_eq!(d.model.as_deref(), Some("Cruzer Blade"));
        assert_eq!(
            d.partitions,
            vec![PartitionFacts {
                name: "sdb1".into(),
                dev: dn(8, 17)
            }]
        );
        assert_eq!(
            d.holders,
            vec![HolderFacts {
                name: "dm-0".into(),
                dev: dn(254, 0),
                dm_name: Some("luks-1".into())
            }]
        );
        let err = SystemFacts::read_from(&root.join("nope"), &root.join("x"), &block).unwrap_err();
        assert!(err.to_string().contains("nope"));
    }
}
