//! The local users and groups, as /etc/passwd and /etc/group under the root say (the files
//! useradd writes; a user only NSS knows, from LDAP, is not one of them).

use std::collections::BTreeMap;

use crate::error::Result;
use crate::host::Host;

/// One /etc/passwd entry: its name, home and shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub home: String,
    pub shell: String,
}

/// The users and the groups' members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Users {
    pub users: Vec<User>,
    /// A group's name and its listed members (the fourth field of /etc/group).
    pub groups: BTreeMap<String, Vec<String>>,
}

impl Users {
    pub fn parse(passwd: &str, group: &str) -> Users {
        let users = passwd
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() == 7 && !f[0].is_empty()).then(|| User {
                    name: f[0].to_string(),
                    home: f[5].to_string(),
                    shell: f[6].to_string(),
                })
            })
            .collect();
        let groups = group
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() == 4 && !f[0].is_empty()).then(|| {
                    let members = f[3]
                        .split(',')
                        .filter(|m| !m.is_empty())
                        .map(str::to_string)
                        .collect();
                    (f[0].to_string(), members)
                })
            })
            .collect();
        Users { users, groups }
    }

    pub fn read(h: &Host) -> Result<Users> {
        Ok(Users::parse(
            &h.read_text("/etc/passwd")?.unwrap_or_default(),
            &h.read_text("/etc/group")?.unwrap_or_default(),
        ))
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// Whether `name` is listed in `group` (a user's primary group is not looked at).
    pub fn in_group(&self, name: &str, group: &str) -> bool {
        self.groups
            .get(group)
            .is_some_and(|m| m.iter().any(|x| x == name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_groups_as_useradd_writes_them() {
        let u = Users::parse(
            "root:x:0:0:root:/root:/bin/bash\nswarmnode-broker:x:998:998:swarmnode broker:/:/bin/sh\nbad line\n",
            "root:x:0:\ndocker:x:997:swarmnode-broker,alice\nswarmnode-broker:x:998:\n",
        );
        assert_eq!(u.users.len(), 2);
        assert_eq!(u.user("swarmnode-broker").unwrap().shell, "/bin/sh");
        assert!(u.in_group("swarmnode-broker", "docker"));
        assert!(!u.in_group("root", "docker"));
        assert!(!u.in_group("swarmnode-broker", "wheel"));
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_reader_panic(p in "\\PC{0,200}", g in "\\PC{0,200}") {
            let u = Users::parse(&p, &g);
            let _ = u.in_group("a", "b");
        }
    }
}
