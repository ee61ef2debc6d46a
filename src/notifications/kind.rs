//! The four lifecycle messages, and the names each goes by in preferences, webhooks and
//! the outbox.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A user completed an achievement.
    Achievement,
    /// A user's streak ends unless they act before the period is over.
    StreakReminder,
    /// A summary of the last period.
    Recap,
    /// A user has gone quiet.
    Reactivation,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Achievement,
        Kind::StreakReminder,
        Kind::Recap,
        Kind::Reactivation,
    ];

    /// The name in the outbox, the config (`[emails.<name>]`) and templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Achievement => "achievement",
            Kind::StreakReminder => "streak_reminder",
            Kind::Recap => "recap",
            Kind::Reactivation => "reactivation",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The notification type of `/users/{id}/preferences`.
    pub fn preference(self) -> &'static str {
        match self {
            Kind::Achievement => "achievement_completed",
            Kind::StreakReminder => "streak_reminder",
            Kind::Recap => "recap",
            Kind::Reactivation => "reactivation",
        }
    }

    /// The webhook event type announcing the message is due.
    pub fn webhook_type(self) -> &'static str {
        match self {
            Kind::Achievement => "emails.achievement_due",
            Kind::StreakReminder => "emails.streak_reminder_due",
            Kind::Recap => "emails.recap_due",
            Kind::Reactivation => "emails.reactivation_due",
        }
    }

    /// The field of the webhook body that carries this message's details.
    pub fn detail_field(self) -> &'static str {
        match self {
            Kind::Achievement => "achievement",
            Kind::StreakReminder => "streak",
            Kind::Recap => "recap",
            Kind::Reactivation => "reactivation",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
            assert!(kind.webhook_type().starts_with("emails."));
        }
        assert_eq!(Kind::parse("achievement_completed"), None);
    }

    /// The preferences API validates against its own list; each message must be one of
    /// them, and each of them a message.
    #[test]
    fn the_four_kinds_are_the_preference_types() {
        let mut names: Vec<&str> = Kind::ALL.iter().map(|k| k.preference()).collect();
        names.sort_unstable();
        let mut types = crate::domain::preferences::NOTIFICATION_TYPES.to_vec();
        types.sort_unstable();
        assert_eq!(names, types);
    }
}
