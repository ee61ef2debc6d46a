//! Enums that are a closed set of names (a metric's unit type, a boost's rounding, a model's
//! fields, a trophy.toml trigger type): the names are written once, beside the values, and
//! the name of a value, the value of a name and the list of both all come from there.

/// An enum each of whose values has one name.
pub trait Choice: Copy + PartialEq + 'static {
    /// Every name with its value, in declaration order (the config reader's choice lists).
    const CHOICES: &'static [(&'static str, Self)];

    fn name(self) -> &'static str;

    fn parse(text: &str) -> Option<Self> {
        Self::CHOICES
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, value)| *value)
    }
}

/// Declares an enum that implements [`Choice`], each value with its name. Serde attributes,
/// where the enum has them, are its own: the names are not derived into (de)serialization,
/// whose messages stay serde's.
macro_rules! choices {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $crate::domain::choices::Choice for $name {
            const CHOICES: &'static [(&'static str, $name)] = &[$(($text, $name::$variant),)+];

            fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }
    };
}

pub(crate) use choices;
