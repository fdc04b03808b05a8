import csv
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from macro_bench.extraction import extract_counterfactual
from macro_bench.datasets.sib200 import SPEC as SIB200

SHARED_SIB200 = Path(__file__).resolve().parents[1].parent / "shared/data/sib200"
needs_shared_data = pytest.mark.skipif(
    not SHARED_SIB200.is_dir(), reason=f"real SIB-200 release not found at {SHARED_SIB200}"
)
EDIT = "The team won the match."

MESSY_ANSWERS = [
    ("padded", "  \n The team won the match. \t\n", EDIT),
    ("label", "Edited text: The team won the match.", EDIT),
    ("bold label", "**Edited text:** The team won the match.", EDIT),
    ("label own line", "Counterfactual:\nThe team won the match.", EDIT),
    ("answer label", "Answer: The team won the match.", EDIT),
    ("output label with target", "Output (sports): The team won the match.", EDIT),
    ("markdown heading label", "### Edited text\n\nThe team won the match.", EDIT),
    ("french label", "Texte modifié : L'équipe a gagné le match.", "L'équipe a gagné le match."),
    ("spanish label", "Texto editado: El equipo ganó el partido.", "El equipo ganó el partido."),
    ("chinese label", "修改后的文本：球队赢得了比赛。", "球队赢得了比赛。"),
    ("here is", "Here is the edited text:\nThe team won the match.", EDIT),
    ("sure inline", "Sure! Here's the modified sentence: The team won the match.", EDIT),
    ("sure paragraph", "Sure! Here's the modified sentence:\n\nThe team won the match.", EDIT),
    ("bare sure line", "Sure!\nThe team won the match.", EDIT),
    ("straight quotes", '"The team won the match."', EDIT),
    ("curly quotes", "“The team won the match.”", EDIT),
    ("guillemets", "«L'équipe a gagné le match.»", "L'équipe a gagné le match."),
    ("corner brackets", "「チームが試合に勝った。」", "チームが試合に勝った。"),
    ("white corner brackets", "『チームが試合に勝った。』", "チームが試合に勝った。"),
    ("single quotes keep apostrophe", "'The team didn't lose the match.'", "The team didn't lose the match."),
    ("label then quotes", 'Edited text: "The team won the match."', EDIT),
    ("fence", "```\nThe team won the match.\n```", EDIT),
    ("fence with language", "```text\nThe team won the match.\n```", EDIT),
    ("fence cut off", "```\nThe team won the match.", EDIT),
    ("inline backticks", "`The team won the match.`", EDIT),
    ("chatter around fence", "Sure, here it is:\n```\nThe team won the match.\n```\nLet me know if you need more.", EDIT),
    (
        "chatter around quote",
        'Here is the edited text:\n\n"The team won the match."\n\nThis changes the topic from politics to sports.',
        EDIT,
    ),
    ("lead-in into quote", 'I changed it to "The team won the match." because that is about sports.', EDIT),
    ("quote then explanation", '"The team won the match." This edit changes the topic to sports.', EDIT),
    ("quote then new line", '"The team won the match."\nI replaced election with match.', EDIT),
    ("explanation paragraph", "The team won the match.\n\nExplanation: I changed 'election' to 'match'.", EDIT),
    ("this edit paragraph", "The team won the match.\n\nThis edit changes the topic to sports.", EDIT),
    ("explanation line", "The team won the match.\nExplanation: the topic is now sports.", EDIT),
    ("parenthetical", 'The team won the match. (I replaced "election" with "match")', EDIT),
    ("chatter first paragraph", "I changed the topic to sports.\n\nThe team won the match.", EDIT),
    ("later quoted paragraph", "To make it about sports, swap the event.\n\n“The team won the match.”", EDIT),
    ("role marker", "assistant\nThe team won the match.", EDIT),
    ("chatml", "<|im_start|>assistant\nThe team won the match.<|im_end|>", EDIT),
    ("next turn hallucinated", "The team won the match.<|eot_id|><|start_header_id|>user", EDIT),
    ("instruction echo", "Edit the text so that its topic becomes sports.\nThe team won the match.", EDIT),
    ("reasoning", "<think>\nPolitics to sports: swap the event.\n</think>\n\nThe team won the match.", EDIT),
    ("original echo", "Original: The election was held.\nEdited: The team won the match.", EDIT),
    ("crlf", "Edited text:\r\n\r\nThe team won the match.\r\n\r\nExplanation: swapped.", EDIT),
    ("multi-line first paragraph", "The team won.\nThe fans cheered.\n\nNote: two lines.", "The team won.\nThe fans cheered."),
    ("bold answer", "**The team won the match.**", EDIT),
    ("label inside bold answer", "Sure!\n\n**Edited text:** “The team won the match.”", EDIT),
]


@pytest.mark.parametrize(("generation", "expected"), [case[1:] for case in MESSY_ANSWERS], ids=[case[0] for case in MESSY_ANSWERS])
def test_messy_answers(generation, expected):
    assert extract_counterfactual(generation) == expected


# Sentences shaped like SIB-200 ones, which must survive untouched.
SENTENCES_THAT_LOOK_LIKE_NOISE = [
    '"Hello," he said, "we won."',
    "“Hello,” he said, “we won.”",
    "Women: It is recommended that any women travellers say that they are married.",
    "The changes include: new rules for the league.",
    "Here, at 11:20, the police moved the protesters.",
    "The new version of the software (released in 2010) was faster.",
    "This flight is not the only option if you want to skip the South Pacific. (see below)",
    "«Стардаст» (або «Зорны пыл») усталюе новы абсалютны рэкорд.",
    "I computer ancùo vien usài par far modificar imagini e filmati.",
    "Iya `e de simata na tongengngangi engkana dinosaurus.",
    "\u200eڤروبهن ݢڤوبوت بق سيدڠ لݢيسلاتيف",
    "Answer the phone, she said.",
]


@pytest.mark.parametrize("sentence", SENTENCES_THAT_LOOK_LIKE_NOISE)
def test_sentences_that_look_like_noise_are_kept(sentence):
    assert extract_counterfactual(sentence) == sentence
    assert extract_counterfactual(f"Edited text: {sentence}", sentence) == sentence
    assert extract_counterfactual(f"{sentence}\n\nExplanation: no change needed.", sentence) == sentence


@pytest.mark.parametrize(
    "generation",
    [
        "",
        "   \n\t ",
        "\u200b\u200e\ufeff\u2063",
        "\x00\x01",
        "Answer:",
        "**Edited text:**",
        "Sure! Here's the edited text:",
        "assistant\n",
        "<|im_start|>assistant\n<|im_end|>",
        "```\n```",
        '""',
        "<think>The topic is politics, so I need to",
    ],
)
def test_nothing_extractable_is_none(generation):
    assert extract_counterfactual(generation) is None


# --- what knowing x changes -------------------------------------------------


def test_quotation_in_x_keeps_its_quotes():
    original = "“We won,” the coach said."
    assert extract_counterfactual("“We lost,” the coach said.", original) == "“We lost,” the coach said."
    quotation = '"We will win the election."'
    assert extract_counterfactual('"We will win the match."', quotation) == '"We will win the match."'
    explained = '"We will win the match."\n\nThis edit changes the topic to sports.'
    assert extract_counterfactual(explained, quotation) == '"We will win the match."'
    # Without x, a wholly quoted answer is taken to be wrapped.
    assert extract_counterfactual('"We will win the match."') == "We will win the match."


def test_only_quotes_beyond_those_of_x_are_removed():
    original = '"We will win the election."'
    assert extract_counterfactual('""We will win the match.""', original) == '"We will win the match."'
    assert extract_counterfactual('Edited text: “"We will win the match."”', original) == '"We will win the match."'


def test_added_quotes_around_inner_quotes_are_removed_given_x():
    original = 'He said "go" to the voters.'
    answer = '"He said "go" to the fans."'
    assert extract_counterfactual(answer, original) == 'He said "go" to the fans.'
    # Without x, the pair cannot be told from two quotations and is kept.
    assert extract_counterfactual(answer) == answer


def test_echoed_text_line_is_dropped_only_when_it_is_x():
    original = "The election was held."
    assert extract_counterfactual("Text: The election was held.\nThe match was held.", original) == "The match was held."
    assert extract_counterfactual("Text: The match was held.", original) == "The match was held."


def test_unchanged_answer_is_returned_not_dropped():
    original = "The election was held."
    assert extract_counterfactual(f"{original}\n\nI could not change the topic.", original) == original


def test_later_quoted_paragraph_that_is_x_is_not_taken():
    original = "The election was held."
    answer = 'The match was held.\n\n"The election was held."'
    assert extract_counterfactual(answer, original) == "The match was held."


def test_echo_of_the_real_generation_prompt_is_dropped():
    original = 'The president said "we will win" before the election.'
    prompt = SIB200.generation_prompt({"text": original}, "politics", "sports", "English")
    edit = 'The coach said "we will win" before the match.'
    assert extract_counterfactual(f"{prompt} {edit}", original) == edit
    assert extract_counterfactual(f"user\n{prompt}\nassistant\n{edit}", original) == edit
    transcript = (
        "<|im_start|>system\nYou are helpful.<|im_end|>\n"
        f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n{edit}<|im_end|>"
    )
    assert extract_counterfactual(transcript, original) == edit


def test_non_string_generation_is_a_type_error():
    with pytest.raises(TypeError, match="generation must be a str, got NoneType"):
        extract_counterfactual(None)


# --- protocol-1 outputs: list markers, unpaired quotes, echoed instructions ---

# The protocol-1 generation prompt, verbatim, so that these cases keep testing
# what the models saw after the protocol moves on.
PROTOCOL_1_PROMPT = (
    "A text classifier assigns one of these topics to a text: science/technology, travel, politics, sports, "
    "health, entertainment, geography.\n"
    'The following {language} text has the topic "{gold}".\n\n'
    "Text: {text}\n\n"
    'Edit the text as little as possible so that its topic becomes "{target}". '
    "Change only the words needed, keep everything else identical, and keep the text in "
    "{language}. Answer with the edited text only.\n\n"
    "Edited text:"
)
PROTOCOL_2_SIB_PROMPT = (
    'You classified the topic of the following {language} text as "{gold}". The possible topics are: '
    "science/technology, travel, politics, sports, health, entertainment, geography.\n\n"
    "Text: {text}\n\n"
    'Edit the text as little as possible so that you would classify its topic as "{target}" instead. '
    "Change only the words that need to change, keep everything else identical, and keep the text in "
    "{language}. Answer with the edited text only.\n\n"
    "Edited text:"
)
PROTOCOL_2_XNLI_PROMPT = (
    'You classified the relation between the following {language} premise and hypothesis as "{gold}". '
    "The possible relations are: entailment, neutral, contradiction.\n\n"
    "Premise: {premise}\n"
    "Hypothesis: {text}\n\n"
    'Edit the hypothesis as little as possible so that you would classify the relation as "{target}" instead. '
    "Keep the premise as it is, change only the words of the hypothesis that need to change, and keep it in "
    "{language}. Answer with the edited hypothesis only.\n\n"
    "Edited hypothesis:"
)


def protocol_1_instruction(text: str, gold: str, target: str, language: str) -> str:
    return PROTOCOL_1_PROMPT.format(text=text, gold=gold, target=target, language=language)


# (id: model-language-doc, generation, x, (gold, target, language), expected x'),
# copied from leaderboards/sib200_cpu/runs (SmolLM2-135M-Instruct and
# Gemma-3-270m, protocol 1, greedy, 48 new tokens).
PROTOCOL_1_OUTPUTS = [
    (
        'smoll-eus_Latn-5',
        '\n\nHealth:\n\nHealth:\n\nHealth:\n\nHealth:\n\nHealth:\n\nHealth:\n\nHealth:\n\nHealth:\n\nHealth:\n\nHealth:\n\nHealth:\n\nHealth:',
        'Prozesuari jarraituz, HJR-3 berriz berrikusiko da hautetsitako hurrengo legegintzaldian, 2015ean edo 2016an, prozesuan jarrai dezan.',
        ('politics', 'health', 'Basque'),
        'Health:',
    ),
    (
        'gemma-eng_Latn-2',
        '\n\n1. The topic is "travel".\n\n2. The topic is "politics".\n\n3. The topic is "sports".\n\n4. The topic is "health".\n\n5. The topic is "entertainment".\n\n6.',
        'Personal VPN (virtual private network) providers are an excellent way of circumventing both political censorship and commercial IP-geofiltering.',
        ('science/technology', 'travel', 'English'),
        'The topic is "travel".',
    ),
    (
        'gemma-eng_Latn-32',
        '\n\nThe following text has the topic "travel".\n\nEdit the text as little as possible so that its topic becomes "geography". Change only the words needed, keep everything else identical, and keep the text in English. Answer with the',
        'In the heat of the day, travelers can experience mirages that give the illusion of water (or other things).',
        ('travel', 'geography', 'English'),
        'The following text has the topic "travel".',
    ),
    (
        'gemma-fra_Latn-0',
        '\n\nThe following text has the topic "travel".\n\nEdit the text as little as possible so that its topic becomes "politics". Change only the words needed, keep everything else identical, and keep the text in French.\n\nAnswer with the',
        "Depuis l'Antiquité, les peuples sont familiers des éléments chimiques de base comme l'or, l'argent et le cuivre, car ils se trouvent dans la nature sous forme brute et sont assez simples à miner à l'aide d'outils primitifs.",
        ('science/technology', 'entertainment', 'French'),
        'The following text has the topic "travel".',
    ),
    (
        'gemma-fin_Latn-20',
        ' Use the text as little as possible so that it becomes "travel". Change only the words needed, keep everything else identical, and keep the text in Finnish. Answer with the edited text only.\n\nText: Use the text as little as',
        'Useimpiin varsinaisiin Itämeren risteilyihin kuuluu pidempi käynti Pietarissa.',
        ('travel', 'science/technology', 'Finnish'),
        'Use the text as little as possible so that it becomes "travel". Change only the words needed, keep everything else identical, and keep the text in Finnish. Answer with the edited text only.',
    ),
    (
        'gemma-tur_Latn-11',
        '\nThe following Turkish text has the topic "travel".\n\nText:\nThe following Turkish text has the topic "travel".\n\nEdit the text as little as possible so that its topic becomes "geography". Change only the words needed,',
        'Bölgelerin nüfusu seyrek olduğu ve dolayısıyla  ışık kirliliği genellikle sorun olmadığı için yıldızların da tadını çıkarabileceksiniz.',
        ('travel', 'geography', 'Turkish'),
        'The following Turkish text has the topic "travel".',
    ),
    (
        'gemma-tur_Latn-12',
        ' "The following Turkish text has the topic "entertainment".\n\nEdit the text as little as possible so that its topic becomes "travel". Change only the words needed, keep everything else identical, and keep the text in Turkish. Answer with the',
        'Yerinde etkinlik örnekleri avcılık, balıkçılık, fotoğrafçılık, kuş seyri ile parkları ziyaret ve ekosistem hakkında bilgileri incelemekten oluşur.',
        ('entertainment', 'travel', 'Turkish'),
        '"The following Turkish text has the topic "entertainment".',
    ),
    (
        'gemma-fra_Latn-44',
        '\n\n* 1. The French word "potro" means "a" in Latin.\n* 2. The French word "a" in Latin means "a" in English.\n* 3. The French word "',
        'Potro a reçu à ce moment des soins pour son épaule, mais a réussi à reprendre le match.',
        ('health', 'science/technology', 'French'),
        'The French word "potro" means "a" in Latin.',
    ),
    (
        'gemma-zho_Hans-13',
        ' \n\n* 1. \n\n* 2. \n\n* 3. \n\n* 4. \n\n* 5. \n\n* 6. \n\n* 7. \n\n* 8.',
        '也可以到北部参观法蒂玛圣母院（圣地），它是举世闻名的圣母玛丽亚显现之地。',
        ('travel', 'health', 'Mandarin Chinese (Simplified)'),
        None,
    ),
    (
        'gemma-ind_Latn-44',
        '\n- Potro menerima perawatan untuk bahunya, tetapi mampu kembali ke permainan.\n- Potro menerima perawatan untuk bahunya, tetapi mampu kembali ke permainan.\n- Potro menerima perawatan untuk bahunya, tetapi mampu kembali ke permainan.',
        'Potro menerima perawatan untuk bahunya, tetapi mampu kembali ke permainan.',
        ('health', 'science/technology', 'Indonesian'),
        'Potro menerima perawatan untuk bahunya, tetapi mampu kembali ke permainan.',
    ),
    (
        'gemma-hau_Latn-21',
        '\n\n1. Maye gurbi yana ƙara sabon bambancin kwayoyin, kuma zaɓi ya cire shi daga tafkin bambancin da aka bayyana.\n\n2. Maye gurbi yana',
        'Maye gurbi yana ƙara sabon bambancin kwayoyin, kuma zaɓi ya cire shi daga tafkin bambancin da aka bayyana.',
        ('science/technology', 'health', 'Hausa'),
        'Maye gurbi yana ƙara sabon bambancin kwayoyin, kuma zaɓi ya cire shi daga tafkin bambancin da aka bayyana.',
    ),
    (
        'gemma-vie_Latn-33',
        ' "The Vietnamese people are very proud of their country. They are very proud of their country. They are very proud of their country. They are very proud of their country. They are very proud of their country. They are very proud of',
        'Tượng Nhân Sư được đặt làm bối cảnh và người tự sự một câu chuyện dài.',
        ('entertainment', 'politics', 'Vietnamese'),
        'The Vietnamese people are very proud of their country. They are very proud of their country. They are very proud of their country. They are very proud of their country. They are very proud of their country. They are very proud of',
    ),
    (
        'gemma-tur_Latn-48',
        ' "Today, the production of digital cameras is still being produced but it is being used more and more.\n\nEdit the text as little as possible so that its topic becomes "geography". Change only the words needed, keep everything else identical',
        'Bugün hala üretilmekte fakat daha da önemlisi en-boy oranını, dijital kamera görüntü sensörü formatlarından alıyor.',
        ('science/technology', 'geography', 'Turkish'),
        'Today, the production of digital cameras is still being produced but it is being used more and more.',
    ),
    (
        'gemma-zho_Hans-8',
        '\n\n1. 科学/技术\n\n2. 旅游\n\n3. 政治\n\n4. 体育\n\n5. 娱乐\n\n6. 地理\n\n7. 医疗\n\n8. 卫生\n\n9. 交通\n\n',
        '多亏有了与欧洲相连的海底光缆和宽带卫星，格陵兰网络连接畅通，93% 的人口接入了互联网。',
        ('science/technology', 'health', 'Mandarin Chinese (Simplified)'),
        '科学/技术',
    ),
    (
        'gemma-fin_Latn-47',
        '\n\n* <b>Science/technology</b>\n\n* <b>Travel</b>\n\n* <b>Politics</b>\n\n* <b>Sports</b>\n\n* <b>Health</b>\n\n* <b>Entertainment</b>\n\n* <b>Geography</b>\n\n* <b>',
        'Nykyään tekoälyä käytetään usein taloustieteen, lääketieteen, tekniikan ja maanpuolustuksen aloilla aivan niin kuin se kuuluu sisäänrakennettuna useisiin kotitietokoneiden ja videopelien ohjelmistosovelluksiin.',
        ('science/technology', 'health', 'Finnish'),
        '<b>Science/technology</b>',
    ),
    (
        'gemma-fin_Latn-31',
        '\n\n* 1. The topic is "science/technology".\n* 2. The topic is "travel".\n* 3. The topic is "politics".\n* 4. The topic is "sports".\n*',
        'Apple keksii tänään puhelimen kokonaan uusiksi, tänään teemme historiaa, hän sanoi kaksi tuntia kestäneen puheensa aikana.',
        ('science/technology', 'entertainment', 'Finnish'),
        'The topic is "science/technology".',
    ),
    (
        'gemma-ind_Latn-49',
        ' This is a text classifier that assigns one of these topics to a text: science/technology, travel, politics, sports, health, entertainment, geography.\n\nEdit the text as little as possible so that its topic becomes "science/technology',
        'Ini memungkinkan lensa pembesar menghasilkan gambar dengan kualitas yang setara dengan yang dihasilkan oleh lensa dengan jarak fokus tetap.',
        ('science/technology', 'sports', 'Indonesian'),
        'This is a text classifier that assigns one of these topics to a text: science/technology, travel, politics, sports, health, entertainment, geography.',
    ),
    (
        'smoll-swh_Latn-0',
        '\n\nOriginal text:\n\nThe following text is a text classifier that assigns one of these topics to a text: science/technology, travel, politics, sports, health, entertainment, geography.\nThe following text is a text classifier',
        'Watu wameshajua kuhusu elementi za kimsingi za kemikali kama vile dhahabu, fedha, na shaba kutoka zamani, kwani hizi zote zinaweza kugunduliwa kwa maumbile katika hali ya asili na ni rahisi kuchimbuliwa kwa kutumia zana za zamani.',
        ('science/technology', 'entertainment', 'Swahili'),
        'The following text is a text classifier that assigns one of these topics to a text: science/technology, travel, politics, sports, health, entertainment, geography.\nThe following text is a text classifier',
    ),
    (
        'smoll-hau_Latn-6',
        '\n\nThe following Hausa text has the topic "sports". Change only the words needed, keep everything else identical, and keep the text in Hausa. Answer with the edited text only.\n\nThe edited text is:\n',
        "Kodayake AI yana da ƙarfin ƙarin ma'anar almara ta kimiyya, AI ya kasance wani reshe na kimiyyar kwamfuta mai matuƙar muhimmanci, da ke mu'amala da halayya, koyo da kuma shigar da fasahar ƙwaƙwalwa a cikin inji.",
        ('science/technology', 'sports', 'Hausa'),
        'The following Hausa text has the topic "sports". Change only the words needed, keep everything else identical, and keep the text in Hausa. Answer with the edited text only.',
    ),
    (
        'gemma-fra_Latn-12',
        '\n\n* La chasse, la pêche, la photographie, l’observation des oiseaux, la visite de parcs et l’étude des informations sur l’écosystème sont des exemples d’activités sur place.\n* La',
        'La chasse, la pêche, la photographie, l’observation des oiseaux, la visite de parcs et l’étude des informations sur l’écosystème sont des exemples d’activités sur place.',
        ('entertainment', 'travel', 'French'),
        'La chasse, la pêche, la photographie, l’observation des oiseaux, la visite de parcs et l’étude des informations sur l’écosystème sont des exemples d’activités sur place.',
    ),
    (
        'gemma-fin_Latn-30',
        '\n\n1. The topic is "science/technology".\n2. The text is "geography".\n3. The text is "travel".\n4. The text is "politics".\n5. The text is "sports".',
        'Näin varmistetaan, että kuva täyttää koko näyttöruudun. Sitä kutsutaan yliskannaukseksi.',
        ('science/technology', 'geography', 'Finnish'),
        'The topic is "science/technology".',
    ),
    (
        'gemma-eng_Latn-0',
        ' People have known about basic chemical elements such as gold, silver, and copper from antiquity, as these can all be discovered in nature in native form and are relatively simple to mine with primitive tools.\n\nEdit the text as little as possible so',
        'People have known about basic chemical elements such as gold, silver, and copper from antiquity, as these can all be discovered in nature in native form and are relatively simple to mine with primitive tools.',
        ('science/technology', 'entertainment', 'English'),
        'People have known about basic chemical elements such as gold, silver, and copper from antiquity, as these can all be discovered in nature in native form and are relatively simple to mine with primitive tools.',
    ),
    (
        'gemma-vie_Latn-3',
        '\n\n* "Travel" is a topic that is very popular in Vietnam.\n* "Travel" is a topic that is very popular in Vietnam.\n* "Travel" is a topic that is very popular in Vietnam.\n* "',
        'Mặc dù đa số các văn phòng đại lý sẵn sàng đảm nhận hầu hết hoạt động đặt phòng thông thường, nhiều đại lý chuyên về một số loại hình du lịch, phạm vi ngân sách hoặc điểm đến cụ thể.',
        ('travel', 'science/technology', 'Vietnamese'),
        '"Travel" is a topic that is very popular in Vietnam.',
    ),
    (
        'smoll-zho_Hans-29',
        '\n\nThe topic "sports" is a topic that is often overlooked. Many people don\'t realize that sports can be a way to relax and enjoy life.\n\nEdited text:\n\nThe topic "sports" is a',
        '人们可能想不到，旅行者在回程中也需要耐心和理解。',
        ('travel', 'sports', 'Mandarin Chinese (Simplified)'),
        'The topic "sports" is a topic that is often overlooked. Many people don\'t realize that sports can be a way to relax and enjoy life.',
    ),
    (
        'gemma-ind_Latn-3',
        '\n\n1. The word "travel" is used in the text to describe the following:\n\na. the journey from the country to the city\n\nb. the journey from the city to the country\n\nc. the journey from the city',
        'Walau kebanyakan agensi lebih memilih untuk mengambil pemesanan reguler, banyak agen mengkhususkan dii pada jenis perjalanan, kisaran anggaran, atau tujuan tertentu.',
        ('travel', 'science/technology', 'Indonesian'),
        'The word "travel" is used in the text to describe the following:',
    ),
    (
        'gemma-fra_Latn-31',
        ' "Le téléphone est un appareil qui a été inventé pour nous permettre de communiquer avec d\'autres personnes.\xa0»\n\nEdit the text as little as possible so that its topic becomes "science/technology". Change only the words needed',
        "Lors de son discours de deux heures, il affirma que «\xa0Aujourd'hui, Apple réinvente le téléphone\xa0; nous allons entrer dans l'histoire aujourd'hui.\xa0»",
        ('science/technology', 'entertainment', 'French'),
        "Le téléphone est un appareil qui a été inventé pour nous permettre de communiquer avec d'autres personnes.",
    ),
    (
        'smoll-hau_Latn-13',
        '\n\nThe following Hausa text has the topic "health" and the text is in Hausa.\n\nThe edited text is:\n\nThe edited text is:\n\nThe edited text is:\n\nThe edited text is',
        'Hakanan zuwa arewa ziyarci babban Wuri Mai Tsarki na Uwargidanmu Fatima (Shrine), wuri ne na shahararrun bayyanar Marian a duniya.',
        ('travel', 'health', 'Hausa'),
        'The following Hausa text has the topic "health" and the text is in Hausa.',
    ),
    (
        'smoll-zho_Hans-11',
        '\n\nThis text is about geography.\n\nThe edited text is:\n\nThis text is about geography.\n\nThe edited text is:\n\nThis text is about geography.\n\nThe edited text is:\n\nThis',
        '这些地区人口稀少，一般不存在光污染的问题，你也能欣赏到璀璨星空。',
        ('travel', 'geography', 'Mandarin Chinese (Simplified)'),
        'This text is about geography.',
    ),
    (
        'smoll-hau_Latn-10',
        '\n\nSoccer is a sport.\n\nSoccer is a sport.\n\nSoccer is a sport.\n\nSoccer is a sport.\n\nSoccer is a sport.\n\nSoccer is a sport.',
        'Gare garen ta canza duniyan a hanyoyi na ban mamaki. Abu mafi girma da gare garen ta yi mana shine ta bamu hanyoyi masu sauki na sufuri.',
        ('science/technology', 'sports', 'Hausa'),
        'Soccer is a sport.',
    ),
    (
        'smoll-vie_Latn-41',
        '\n\nNếu có bão tuyết, tuyết rơi trong một khoảng thời gian ngày, cá',
        'Nếu có bão tuyết, tuyết rơi trong một khoảng thời gian ngắn cũng đủ làm bạn mắc kẹt.',
        ('travel', 'sports', 'Vietnamese'),
        'Nếu có bão tuyết, tuyết rơi trong một khoảng thời gian ngày, cá',
    ),
    (
        'smoll-fin_Latn-37',
        '\n\nTartunnan saaja voi itse tartuttaa vuoden aikana 10–15 lähikontaktia.\n\nThe edited text is:\n\nTart',
        'Tartunnan saaja voi itse tartuttaa vuoden aikana 10–15 lähikontaktia.',
        ('health', 'science/technology', 'Finnish'),
        'Tartunnan saaja voi itse tartuttaa vuoden aikana 10–15 lähikontaktia.',
    ),
    (
        'smoll-ind_Latn-10',
        '\n\nIndonesia is a country that is known for sports. Sports is a sport that is played by people. Sports is a sport that is played by people. Sports is a sport that is played by people.\n\nThe edited text',
        'Roda telah mengubah dunia dengan cara yang luar biasa. Hal terbesar yang telah dilakukan roda bagi kita adalah memberikan kita transportasi yang lebih mudah dan cepat.',
        ('science/technology', 'sports', 'Indonesian'),
        'Indonesia is a country that is known for sports. Sports is a sport that is played by people. Sports is a sport that is played by people. Sports is a sport that is played by people.',
    ),
]


@pytest.mark.parametrize(
    ("generation", "original", "prompt_fields", "expected"),
    [case[1:] for case in PROTOCOL_1_OUTPUTS],
    ids=[case[0] for case in PROTOCOL_1_OUTPUTS],
)
def test_protocol_1_outputs(generation, original, prompt_fields, expected):
    instruction = protocol_1_instruction(original, *prompt_fields)
    assert extract_counterfactual(generation, original, instruction) == expected


def test_echo_is_peeled_only_when_a_real_answer_follows():
    original = "The election was held in May."
    instruction = protocol_1_instruction(original, "politics", "sports", "English")
    edit = "The match was held in May."
    # Recognized from the instruction only: no fixed pattern matches this line.
    echo = "Change only the words needed, keep everything else identical, and keep the text in English."
    assert extract_counterfactual(f"{echo}\n{edit}", original, instruction) == edit
    assert extract_counterfactual(f"{edit}\n{echo}", original, instruction) == edit
    # Nothing but the echo: it is kept for the prompt-echo gate.
    assert extract_counterfactual(echo, original, instruction) == echo
    assert extract_counterfactual(f"{echo}\n\nEdited text:", original, instruction) == echo
    # x itself is never taken for an echo, even when it shares words with the instruction.
    wordy = "Change only the words needed, the minister said before the election."
    wordy_instruction = protocol_1_instruction(wordy, "politics", "sports", "English")
    assert extract_counterfactual(f"{wordy}\n{echo}", wordy, wordy_instruction) == wordy
    assert extract_counterfactual(f"{echo}\n{wordy}", wordy, wordy_instruction) == wordy


@pytest.mark.parametrize(
    ("prompt", "label"),
    [(PROTOCOL_2_SIB_PROMPT, "Edited text:"), (PROTOCOL_2_XNLI_PROMPT, "Edited hypothesis:")],
    ids=["sib200", "xnli"],
)
def test_protocol_2_prompt_echoes_and_labels_are_peeled(prompt, label):
    original = "The election was held in May."
    edit = "The match was held in May."
    instruction = prompt.format(
        language="English", gold="politics", target="sports", text=original, premise="People voted in spring."
    )
    echoed = instruction.replace(original, edit).replace(label, "")
    # A model that continues the whole prompt with its answer in place of x.
    for line in echoed.split("\n"):
        if line.strip() and edit not in line:
            assert extract_counterfactual(f"{line}\n{edit}", original, instruction) == edit, line
            # The fixed patterns know the new prompt's lines without the instruction too.
            if not line.startswith(("Change", "Keep")):
                assert extract_counterfactual(f"{line}\n{edit}", original) == edit, line
    assert extract_counterfactual(f"{label} {edit}", original, instruction) == edit
    assert extract_counterfactual(f"**{label}**\n{edit}", original) == edit
    assert extract_counterfactual(f"Hypothesis: {original}\n{edit}", original) == edit


@pytest.mark.parametrize(
    ("generation", "original", "expected"),
    [
        ("1) The team won.", "The party won.", "The team won."),
        ("• The team won.", "The party won.", "The team won."),
        ("- The team won.\n- The team lost.", "The party won.", "The team won."),
        ("* 1. The team won.\n* 2. The team lost.", "The party won.", "The team won."),
        ("1. The team won,\nand the fans cheered.\n2. Other", "The party won.", "The team won,\nand the fans cheered."),
        ("* 1.", "The party won.", None),
        # x opens with a marker itself (7 Moroccan Arabic SIB-200 texts open with "- "): kept.
        ("- The team won.", "- The party won.", "- The team won."),
        # An ordinal date opening a sentence is no list marker.
        ("17. září 1939 vyhrál tým.", "Dne 17. září 1939 vyhrála strana.", "17. září 1939 vyhrál tým."),
        ("1.5 million fans came.", "1.5 million voters came.", "1.5 million fans came."),
    ],
)
def test_list_markers(generation, original, expected):
    assert extract_counterfactual(generation, original) == expected


@pytest.mark.parametrize(
    ("generation", "original", "expected"),
    [
        ('"The team won the match', "The party won.", "The team won the match"),
        ("The team won the match”", "The party won.", "The team won the match"),
        ("«The team won the match", "The party won.", "The team won the match"),
        ('"The team won" the match', "The party won.", '"The team won" the match'),
        ('He said "we won" and "', "He said.", 'He said "we won" and'),
        # x has an unpaired quote of its own (a quotation cut off by the data set): kept.
        ('"The team won the match', '"The party won the vote', '"The team won the match'),
        ("The team won the match»", "Il a dit « oui.", "The team won the match»"),
        # A possessive apostrophe is no quote.
        ("The players'", "The voters'", "The players'"),
        ("The players' match", "The voters' election", "The players' match"),
        ("'The team won", "The party won.", "The team won"),
    ],
)
def test_unpaired_quotes_at_the_edges(generation, original, expected):
    assert extract_counterfactual(generation, original) == expected


# --- garbage is data --------------------------------------------------------


@pytest.mark.parametrize(
    ("generation", "expected"),
    [
        ("The team\x00 won.", "The team\x00 won."),
        ("\ud800 The team won. \udfff", "\ud800 The team won. \udfff"),
        ("\x1b[31mThe team won.\x1b[0m", "\x1b[31mThe team won.\x1b[0m"),
        ("\u202eThe team won.\u202c", "\u202eThe team won.\u202c"),
        ("⚽🏆 The team won! 🎉", "⚽🏆 The team won! 🎉"),
        ("\u200b\n\nThe team won.", "The team won."),
    ],
)
def test_odd_characters_are_kept_as_data(generation, expected):
    assert extract_counterfactual(generation) == expected


def test_long_repetition_comes_back_whole():
    answer = "The team won the match. " * 100
    assert extract_counterfactual(f"Edited text: {answer}") == answer.strip()


MEGABYTE = 1_000_000
PATHOLOGICAL = {
    "letters": "a" * MEGABYTE,
    "open curly quotes after a lead-in": "I changed it to " + "“" * MEGABYTE,
    "straight quotes": '"' * MEGABYTE,
    "blank lines": "a\n\n" * (MEGABYTE // 3),
    "fences": "```\n" * (MEGABYTE // 4),
    "labels": "Edited text: " * (MEGABYTE // 13),
    "lead-in lines": "Sure!\n" * (MEGABYTE // 6),
    "parentheses": "(" * MEGABYTE + ")",
    "apostrophes": "a'" * (MEGABYTE // 2),
    "mixed": ("“a”\n: (I `*#\n\n" * (MEGABYTE // 16)),
}


@pytest.mark.parametrize("name", PATHOLOGICAL)
def test_megabyte_of_garbage_takes_linear_time(name):
    # Linear scans take about a second at worst; catastrophic backtracking on a
    # megabyte would take hours, so a generous budget is still a sharp test. CPU time of
    # this process, so a busy machine does not fail it.
    started = time.process_time()
    result = extract_counterfactual(PATHOLOGICAL[name], "a")
    assert time.process_time() - started < 15
    assert result is None or len(result) <= len(PATHOLOGICAL[name])


# --- properties -------------------------------------------------------------

STRUCTURE = [
    "\n", "\n\n", "\r\n", " ", ":", "：", '"', "'", "`", "```", "```text\n", "“", "”", "«", "»", "「", "」",
    "‘", "’", "„", "(", ")", "**", "#", "Edited text:", "Answer:", "Sure! Here's the edited text:", "Sure!",
    "assistant\n", "<|im_start|>assistant\n", "<|im_end|>", "</s>", "<think>", "</think>", "[/INST]",
    "Explanation:", "This edit", "I replaced", "Original:", "Text:", "Edit the text so that",
    "\x00", "\ud800", "\u200b", "\u200f", "\ufeff", "🎉", "The team won.",
]
ANY_CHARACTER = st.characters(codec=None, exclude_categories=())
messy_generations = st.lists(
    st.one_of(st.sampled_from(STRUCTURE), st.text(ANY_CHARACTER, max_size=6)), max_size=16
).map("".join)


def normalized(generation: str) -> str:
    return generation.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=500, deadline=None)
@given(generation=messy_generations, original=st.one_of(st.none(), messy_generations))
def test_result_is_a_stripped_piece_of_the_answer_or_none(generation, original):
    result = extract_counterfactual(generation, original)
    if result is not None:
        assert result == result.strip()
        assert result != ""
        assert result in normalized(generation)


# Sentences without any of the characters that build structure.  Without x, a
# leading "- " or "1. " is taken for a list marker, so no sentence starts so.
plain_sentences = (
    st.text(st.sampled_from("abcxyzABCXYZ0123456789 .,;!?-éßчжиأبتกขคदनम中文字"), min_size=1, max_size=60)
    .filter(lambda text: any(char.isalpha() for char in text))
    .filter(lambda text: not re.match(r"(?:-|[0-9]{1,2}[.)])(?:\s|$)", text.strip()))
)
WRAPPERS = [
    "{}",
    "Edited text: {}",
    "**Counterfactual:**\n{}",
    "Sure! Here's the modified sentence:\n\n{}",
    '"{}"',
    "“{}”",
    "«{}»",
    "```\n{}\n```",
    "<|im_start|>assistant\n{}<|im_end|>",
    "{}\n\nExplanation: I changed the topic.",
    "{} (I replaced one word.)",
    'Here is the edited text:\n\n"{}"\n\nThis changes the topic.',
]


@settings(max_examples=300, deadline=None)
@given(sentence=plain_sentences, wrapper=st.sampled_from(WRAPPERS))
def test_plain_sentence_survives_every_wrapper(sentence, wrapper):
    assert extract_counterfactual(wrapper.format(sentence)) == sentence.strip()
    assert extract_counterfactual(wrapper.format(sentence), sentence) == sentence.strip()


# --- the real release -------------------------------------------------------


def real_test_texts() -> list[tuple[str, str]]:
    texts = []
    for path in sorted(SHARED_SIB200.glob("*/test.tsv")):
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t", strict=True))
        texts += [(path.parent.name, row["text"].strip()) for row in rows]
    return texts


@needs_shared_data
def test_every_real_test_text_passes_through_unchanged():
    texts = real_test_texts()
    assert len(texts) == 205 * 204
    changed = [(language, text) for language, text in texts if extract_counterfactual(text, text) != text]
    assert changed == []


QUOTE_CHARACTERS = set("\"'`“”‘’„«»‹›「」『』＂")
REAL_WRAPPERS = WRAPPERS[1:]


@needs_shared_data
def test_real_texts_with_quotes_come_back_from_every_wrapper_given_x():
    # Quotes are what wrappers and explanations could be confused with; colons
    # and parentheses are covered by the pass-through test above.
    hard = [text for _, text in real_test_texts() if QUOTE_CHARACTERS & set(text)]
    assert len(hard) > 6000
    failures = [
        (wrapper, text)
        for text in hard
        for wrapper in REAL_WRAPPERS
        if extract_counterfactual(wrapper.format(text), text) != text
    ]
    assert failures == []


@needs_shared_data
def test_real_test_texts_survive_echoed_instruction_lines():
    # The echo is recognized from the instruction alone (no fixed pattern
    # matches it), so every text is also checked against the echo test itself.
    echo = "Change only the words needed, keep everything else identical, and keep the text in English."
    # Every tenth text (about 20 per language: every language and script) and one of the
    # three placements per text, in turn, keep this to seconds; the test above sends every
    # text through extraction unchanged.
    failures = []
    for index, (language, text) in enumerate(real_test_texts()[::10]):
        instruction = protocol_1_instruction(text, "travel", "sports", "English")
        generation = (f"{echo}\n{text}", f"{text}\n{echo}", f"{text}\n\n{echo}")[index % 3]
        if extract_counterfactual(generation, text, instruction) != text:
            failures.append((language, generation))
    assert failures == []


def test_a_hypothesis_label_before_the_answer_is_peeled():
    # SmolLM2 on XNLI (protocol-2 CPU board): the label made a copy look like a flip.
    original = "All apparel industries and shops were permanently closed in 1980."
    assert extract_counterfactual(f"Hypothesis: {original}\n\n", original) == original
    assert extract_counterfactual("Hypothesis: Some shops were closed in 1980.", original) == "Some shops were closed in 1980."
