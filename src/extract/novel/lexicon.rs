//! Word lists and small predicates for English and Chinese speech.

use crate::extract::FastSet as HashSet;
use std::sync::OnceLock;

pub(crate) const EN_VERBS: &[&str] = &[
    "said",
    "says",
    "say",
    "asked",
    "asks",
    "replied",
    "replies",
    "answered",
    "answers",
    "cried",
    "cries",
    "exclaimed",
    "whispered",
    "shouted",
    "added",
    "adds",
    "continued",
    "returned",
    "observed",
    "remarked",
    "began",
    "muttered",
    "murmured",
    "called",
    "repeated",
    "rejoined",
    "resumed",
    "interrupted",
    "declared",
    "inquired",
    "enquired",
    "demanded",
    "retorted",
    "responded",
    "explained",
    "insisted",
    "suggested",
    "protested",
    "screamed",
    "sighed",
    "laughed",
    "groaned",
    "growled",
    "stammered",
    "faltered",
    "pleaded",
    "urged",
    "thought",
    "echoed",
    "went",
    "yelled",
    "roared",
    "sobbed",
    "snapped",
    "persisted",
    "concluded",
    "ventured",
    "gasped",
    "hissed",
    "breathed",
    "argued",
    "agreed",
    "admitted",
    "assented",
    "objected",
    "whimpered",
    "shrieked",
    "wondered",
    "proceeded",
    "pursued",
    "bawled",
    "called",
    "corrected",
    "warned",
    "smiled",
    "nodded",
    "chuckled",
    "grumbled",
    "sang",
    "considered",
    "ejaculated",
    "vociferated",
    "interposed",
    "intervened",
    "asserted",
    "mused",
    "reflected",
    "announced",
    "commented",
    "conceded",
    "volunteered",
    "moaned",
    "panted",
    "grunted",
    "snarled",
    "sneered",
    "squeaked",
    "piped",
    "drawled",
    "giggled",
    "stuttered",
    "blurted",
    "bellowed",
    "thundered",
    "wailed",
    "whined",
    "spoke",
    "told",
    "reiterated",
    "acknowledged",
    "confessed",
    "affirmed",
    "hinted",
    "implored",
    "entreated",
    "begged",
    "commanded",
    "ordered",
    "pronounced",
    "quoth",
    "uttered",
    "mumbled",
    "croaked",
    "sniffed",
    "snorted",
    "exclaim",
    "inquire",
    "whisper",
    "reply",
    "answer",
    "ask",
    "cry",
    "pouted",
    "blustered",
    "recommenced",
    "accosted",
];
/// Words before a name that make it an object, not the speaker.
pub(crate) const EN_PREPOSITIONS: &[&str] = &[
    "to",
    "at",
    "with",
    "for",
    "of",
    "from",
    "by",
    "towards",
    "toward",
    "on",
    "upon",
    "about",
    "into",
    "than",
    "like",
    "after",
    "before",
    "behind",
    "beside",
    "near",
    "against",
    "addressing",
    "answering",
    "asking",
    "telling",
];
pub(crate) const ZH_VERBS: &[&str] = &[
    "说道",
    "笑道",
    "问道",
    "答道",
    "喊道",
    "叫道",
    "骂道",
    "叹道",
    "嚷道",
    "哭道",
    "冷笑道",
    "回答",
    "说",
    "道",
    "问",
    "答",
    "喊",
    "叫",
    "嚷",
    "骂",
    "叹",
    "吼",
    "笑",
    "插嘴",
    "解释",
    "补充",
    "告诉",
    "念叨",
    "嘟囔",
    "喃喃",
    "安慰",
    "埋怨",
    "提醒",
    "吩咐",
    "命令",
    "劝",
    "央求",
    "反驳",
    "追问",
    "称赞",
    "开口",
    "应",
    "嘀咕",
];
pub(crate) const EN_TITLES: &[&str] = &[
    "Mr.",
    "Mrs.",
    "Miss",
    "Ms.",
    "Dr.",
    "Mr",
    "Mrs",
    "Lady",
    "Lord",
    "Sir",
    "Madame",
    "Monsieur",
    "Mademoiselle",
    "Mlle.",
    "Mme.",
    "Captain",
    "Colonel",
    "Major",
    "General",
    "Aunt",
    "Uncle",
    "Father",
    "Mother",
    "Professor",
    "King",
    "Queen",
    "Prince",
    "Princess",
    "Duchess",
    "Duke",
    "Count",
    "Countess",
    "Baron",
    "Baroness",
    "Mister",
];
pub(crate) const EN_STOP: &[&str] = &[
    "The",
    "A",
    "An",
    "He",
    "She",
    "It",
    "I",
    "We",
    "You",
    "They",
    "His",
    "Her",
    "Its",
    "Their",
    "Our",
    "My",
    "Your",
    "But",
    "And",
    "Or",
    "Then",
    "There",
    "This",
    "That",
    "These",
    "Those",
    "What",
    "When",
    "Where",
    "Why",
    "How",
    "Who",
    "Whom",
    "Oh",
    "Ah",
    "Yes",
    "No",
    "Well",
    "So",
    "If",
    "In",
    "On",
    "At",
    "As",
    "For",
    "With",
    "To",
    "Of",
    "By",
    "Not",
    "Now",
    "Here",
    "Do",
    "Did",
    "Does",
    "Is",
    "Was",
    "Are",
    "Were",
    "Be",
    "Let",
    "All",
    "One",
    "Some",
    "After",
    "Before",
    "While",
    "Though",
    "Although",
    "Yet",
    "Still",
    "Even",
    "Only",
    "Just",
    "Perhaps",
    "Indeed",
    "Nay",
    "Ay",
    "Dear",
    "Good",
    "Very",
    "Come",
    "Go",
    "Chapter",
    "CHAPTER",
    "Mr",
    "Mrs",
    "Sir",
    "Madam",
    "Ma'am",
    "God",
    "Heaven",
    "Lord",
    "O",
    "Alas",
    "Nothing",
    "Nobody",
    "Everybody",
    "Somebody",
    "Everything",
    "Why",
    "Upon",
    "From",
    "Into",
    "Out",
    "Up",
    "Down",
    "Over",
    "Under",
    "Again",
    "Never",
    "Always",
    "Once",
    "Twice",
    "Whatever",
    "However",
    "Besides",
    "Meanwhile",
    "Presently",
    "Suddenly",
    "Certainly",
    "Of",
    "Hush",
    "Pray",
    "Thank",
    "Thanks",
    "Good-bye",
    "Goodbye",
    "Hullo",
    "Hello",
    "Mamma",
    "Papa",
    "English",
    "French",
    "Monday",
    "Sunday",
    "Saturday",
    "Christmas",
    "Me",
    "Him",
    "Us",
    "Them",
    "Don't",
    "I'm",
    "I'll",
    "I've",
    "I'd",
    "It's",
    "That's",
    "There's",
];
pub(crate) const ZH_STOP_3RD: &str = "不说道问也就又都在把对和笑便却还才一了的是有这那忙连只向看听低大小着地得回答喊叫嚷骂叹吼想走站坐拉接望瞧转抬点摇冷";

/// Characters that do not begin a name, and words that look like names but are not.
pub(crate) const ZH_NOT_FIRST: &str = "两至待然什似后因所虽现终仿突即原怎甚况或倘假除连他她我你您这那有一又便也没不谁说听笑只因如此就还却可但而且并把被让叫给在从向对和与同跟等些个里上下中来去到着了过得地的人都自大众已正忽又再才将要会能想看回答问喊叫道刚便其些所当于是该既若虽";
pub(crate) const ZH_NOT_SECOND: &str = "着了过都也又便就却只是的地得不没在把被向对说道问笑";
pub(crate) const ZH_NOT_NAMES: &[&str] = &[
    "众人", "大家", "自己", "孩子", "母亲", "父亲", "老人", "女人", "男人", "先生", "太太", "姑娘", "丫头", "小姐",
    "媳妇", "老爷", "奶奶", "心里", "照例", "仍然", "嘴里", "眼里", "脸上", "手里", "单知", "知道", "觉得", "看见",
    "听得", "听见",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Gender {
    Male,
    Female,
}

pub(crate) fn en_pronoun(w: &str) -> Option<Gender> {
    match w {
        "he" | "He" => Some(Gender::Male),
        "she" | "She" => Some(Gender::Female),
        _ => None,
    }
}

pub(crate) fn zh_pronoun(s: &str) -> Option<Gender> {
    if s.starts_with('他') {
        Some(Gender::Male)
    } else if s.starts_with('她') {
        Some(Gender::Female)
    } else {
        None
    }
}

/// Every form of a listed speech verb that counts: the verbs themselves and
/// "saying", "whispering", "exclaim" (other forms of a listed verb).
fn verb_forms() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set: HashSet<String> = EN_VERBS.iter().map(|v| v.to_string()).collect();
        for v in EN_VERBS {
            let mut stems: Vec<String> = Vec::new();
            for suffix in ["ed", "d", "s", "ied"] {
                if let Some(st) = v.strip_suffix(suffix) {
                    stems.push(st.to_owned());
                }
            }
            if let Some(st) = v.strip_suffix("ied") {
                stems.push(format!("{st}y"));
            }
            for st in stems.into_iter().filter(|st| st.len() >= 3) {
                set.insert(format!("{st}ing"));
                if !st.ends_with("ing") {
                    set.insert(st);
                }
            }
        }
        set
    })
}

/// A set of words for fast membership tests.
pub(crate) fn word_set(
    words: &'static [&'static str],
    cell: &'static OnceLock<HashSet<&'static str>>,
) -> &'static HashSet<&'static str> {
    cell.get_or_init(|| words.iter().copied().collect())
}

pub(crate) fn is_stop_word(w: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    word_set(EN_STOP, &SET).contains(w)
}

/// `f` of the word in ASCII lower case, without allocating for short words.
pub(crate) fn with_lowercase<R>(w: &str, f: impl FnOnce(&str) -> R) -> R {
    if !w.bytes().any(|b| b.is_ascii_uppercase()) {
        return f(w);
    }
    let mut buf = [0u8; 32];
    match buf.get_mut(..w.len()) {
        Some(b) => {
            b.copy_from_slice(w.as_bytes());
            b.make_ascii_lowercase();
            // ASCII case changes keep UTF-8 valid.
            f(std::str::from_utf8(b).unwrap_or(w))
        }
        None => f(&w.to_ascii_lowercase()),
    }
}

pub(crate) fn is_preposition(w: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let set = word_set(EN_PREPOSITIONS, &SET);
    with_lowercase(w, |l| set.contains(l))
}

pub(crate) fn has_en_verb(w: &str) -> bool {
    if w.len() < 3 || w.len() > 16 {
        return false;
    }
    with_lowercase(w, |l| verb_forms().contains(l))
}

/// A past-tense word that can carry speech right after a quote
/// (`"…," Mrs. Gradgrind considered`, `"…!" pouted Louisa`).
pub(crate) fn is_past_verb(w: &str) -> bool {
    w.len() > 3 && w.ends_with("ed") && w.chars().all(|c| c.is_ascii_lowercase())
        || has_en_verb(w) && w.chars().next().is_some_and(char::is_lowercase)
}

pub(crate) fn zh_has_verb(clause: &str) -> bool {
    static FIRST: OnceLock<HashSet<char>> = OnceLock::new();
    let first = FIRST.get_or_init(|| ZH_VERBS.iter().filter_map(|v| v.chars().next()).collect());
    clause
        .char_indices()
        .any(|(i, c)| first.contains(&c) && ZH_VERBS.iter().any(|v| clause[i..].starts_with(v)))
}
