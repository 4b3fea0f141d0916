//! Who may do what in a room: pure functions, so every rule is unit-tested without a database.
//! Handlers load the facts (roles, mutes, blocks) and ask here before they write.

use crate::store::{MemberRecord, UserId};
use shared::events::Role;

/// Renaming and setting the topic: admins and the owner.
pub fn may_edit_room(actor: Role) -> bool {
    actor >= Role::Admin
}

/// Removing or muting someone: admins and the owner, and only people below them.
pub fn may_moderate(actor: Role, target: Role) -> bool {
    actor >= Role::Admin && actor > target
}

/// Changing a role: the owner makes members admins and admins members. Ownership itself
/// moves only when the owner leaves.
pub fn may_set_role(actor: Role, target: Role, new: Role) -> bool {
    actor == Role::Owner && target != Role::Owner && new != Role::Owner
}

/// Who becomes owner when the owner leaves: the admin who joined first, else the member who
/// joined first. `None` when nobody is left.
pub fn successor(members: &[MemberRecord], leaving: UserId) -> Option<&MemberRecord> {
    members
        .iter()
        .filter(|m| m.user.id != leaving)
        .min_by_key(|m| (std::cmp::Reverse(m.role), m.joined_at_ms, m.user.id))
}

/// The key that makes a pair's direct conversation unique, whichever side opens it.
pub fn direct_key(a: UserId, b: UserId) -> String {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    format!("{}:{}", low.0, high.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NamedUser;
    use shared::Seq;

    fn member(id: i64, role: Role, joined: i64) -> MemberRecord {
        MemberRecord {
            user: NamedUser {
                id: UserId(id),
                name: format!("u{id}"),
            },
            display_name: String::new(),
            role,
            muted: false,
            joined_at_ms: joined,
            delivered_seq: Seq(0),
            read_seq: Seq(0),
            last_seen_ms: None,
        }
    }

    #[test]
    fn moderation_goes_down_the_ranks_only() {
        use Role::{Admin, Member, Owner};
        assert!(may_moderate(Owner, Admin));
        assert!(may_moderate(Owner, Member));
        assert!(may_moderate(Admin, Member));
        assert!(!may_moderate(Admin, Admin));
        assert!(!may_moderate(Admin, Owner));
        assert!(!may_moderate(Member, Member));
        assert!(may_edit_room(Admin) && may_edit_room(Owner) && !may_edit_room(Member));
    }

    #[test]
    fn only_the_owner_changes_roles_and_never_to_owner() {
        use Role::{Admin, Member, Owner};
        assert!(may_set_role(Owner, Member, Admin));
        assert!(may_set_role(Owner, Admin, Member));
        assert!(!may_set_role(Owner, Member, Owner));
        assert!(!may_set_role(Admin, Member, Admin));
        assert!(!may_set_role(Owner, Owner, Member));
    }

    #[test]
    fn ownership_passes_to_the_first_admin_then_the_first_member() {
        let members = [
            member(1, Role::Owner, 1),
            member(2, Role::Member, 2),
            member(3, Role::Admin, 5),
            member(4, Role::Admin, 3),
        ];
        assert_eq!(successor(&members, UserId(1)).unwrap().user.id, UserId(4));
        let members = [
            member(1, Role::Owner, 1),
            member(5, Role::Member, 9),
            member(2, Role::Member, 2),
        ];
        assert_eq!(successor(&members, UserId(1)).unwrap().user.id, UserId(2));
        assert!(successor(&[member(1, Role::Owner, 1)], UserId(1)).is_none());
    }

    #[test]
    fn a_pair_has_one_key_whoever_asks() {
        assert_eq!(
            direct_key(UserId(7), UserId(3)),
            direct_key(UserId(3), UserId(7))
        );
        assert_ne!(
            direct_key(UserId(1), UserId(23)),
            direct_key(UserId(12), UserId(3))
        );
    }
}
