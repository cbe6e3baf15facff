"""The one ordered table that turns file and folder names into a category, captions and modifiers.

Names are normalised first (``normalize_name``); the rules are then tried in order on the file
name and, failing that, on the parent folders. The first match wins, so specific rules (voice
folders, "door bell", "car horn") come before generic ones ("door", "horn"). Rules whose
category starts with ``_`` mark audio that is not kept as SFX (music, UI blips, voice lines
without transcripts).

Phrase templates may use slots filled from the modifiers (see ``captions.fill``):
``{on}`` -> " on gravel", ``{mat}`` -> "metal ", ``{door}`` -> "opening" / "closing",
``{gait}`` -> "running " / "walking ".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wavlink_core.corpus.modifiers import extract_modifiers

__all__ = ["RULES", "Rule", "categorize", "extract_modifiers", "match_text", "normalize_name"]


@dataclass(frozen=True)
class Rule:
    """One row of the category table.

    Attributes:
        pattern: Regex searched in the normalised name (word boundaries are the rule's job).
        category: Category key; a leading ``_`` means "not kept as a labelled SFX clip".
        phrases: Caption phrases (first = canonical); may contain slots, see module doc.
        audioset: AudioSet class display names this category counts towards.
    """

    pattern: str
    category: str
    phrases: tuple[str, ...]
    audioset: tuple[str, ...] = ()


def R(
    pattern: str, category: str, phrases: str | tuple[str, ...], audioset: tuple[str, ...] = ()
) -> Rule:
    """Short constructor that keeps the table one line per rule."""
    return Rule(pattern, category, (phrases,) if isinstance(phrases, str) else phrases, audioset)


# fmt: off
RULES: tuple[Rule, ...] = (
    # --- not SFX: voice lines without transcripts, music, interface sounds ---
    R(r"\b(voices?|taunts?|announcer|codriver|civ (fe)?male|ack|select|ready|underattack|callouts?|mk viii|coms|pcv|tut|tutorial|col|com|prox|countdown|"
      r"cmndrvoc|vtoltalk|trnsppil|radclik|completed|action|attacked|speech|talk|merchant)\b",
      "_voice", "a voice saying a short line"),
    R(r"\b(music|musics|theme|menu|jingle|intro|credits|soundtrack|victory|defeat)\b", "_music", "music"),
    # real clicks (a computer mouse, a camera) are everyday sounds, not interface blips
    R(r"\b(mouse click|mouseclick|computer mouse)\b", "mouse click", ("a computer mouse clicking", "a mouse button click"),
      ("Clicking",)),
    R(r"\b(camera click|camera shutter)\b", "camera shutter", ("a camera shutter clicking",), ("Camera",)),
    R(r"\b(ui|gui|interface|click|button|beep|blip|tick menu|notify|notification|message|chat|error|pickup|powerup|"
      r"coin\d*|upgrade|secret|gameover|lose|bonus|level ?up|hud|sel|complete)\b", "_ui", "an interface sound"),
    # --- weapons and combat ---
    R(r"\b(explosion|explosions|explode|exploding|explons|blast|boom|bomb|bombing|grenade|nuke|dynamite|tnt|quake|"
      r"bombexplosion|volcano eruption|wstbexpl|hagexp)\b",
      "explosion", ("an explosion", "a loud blast"), ("Explosion", "Boom")),
    R(r"\b(machine ?gun|chaingun|minigun|uzi)\b", "machine gun", ("a machine gun firing",), ("Machine gun",
      "Gunshot, gunfire")),
    R(r"\b(gun|guns|gunshot|gunfire|shot|shots|shoot|pistol|rifle|shotgun|shotgunfire|musket|bullet|volley|cannon|"
      r"cannons|artillery|mortar|sniper|revolver|fire\d)\b", "gunshot", ("a gunshot", "a gun firing"),
      ("Gunshot, gunfire",)),
    R(r"\b(reload|reloading|cock|holster)\b", "gun reload", ("a gun being reloaded",), ("Clicking",)),
    R(r"\b(sling|slings|slinger)\b", "sling", ("a stone from a sling whizzing and hitting", "a slingshot stone impact"),
      ("Whoosh, swoosh, swish", "Thump, thud")),
    R(r"\b(arrow|arrows|bow|bows|crossbow|javelin|spear)\b", "arrow", ("an arrow whizzing and hitting",
      "a bow shooting an arrow"), ("Arrow", "Whoosh, swoosh, swish")),
    R(r"\b(sword|swords|blade|blades|swordman|swordsman|dagger|axe|sabre|saber|slash|stab|parry|knife)\b", "sword",
      ("swords clashing", "a blade striking metal"), ("Clang",)),
    R(r"\b(laser|plasma|phaser|blaster|zap|beam|railgun)\b", "laser", ("a sci-fi laser zapping",), ("Zing",)),
    R(r"\b(rocket|rockets|missile|missiles|launcher|rlauncher|glauncher)\b", "rocket", ("a rocket launching with a whoosh",),
      ("Whoosh, swoosh, swish",)),
    # --- domestic and farm animals ---
    R(r"\b(dog|dogs|bark|barks|barking|puppy|woof)\b", "dog", ("a dog barking", "a dog barks"), ("Dog", "Bark")),
    R(r"\b(cat|cats|meow|kitten|purr)\b", "cat", ("a cat meowing", "a cat meows"), ("Cat", "Meow")),
    R(r"\b(rooster|cock|hen|hens|chicken|chickens|chick)\b", "chicken", ("a chicken clucking", "a rooster crowing"),
      ("Chicken, rooster", "Cluck", "Crowing, cock-a-doodle-doo")),
    R(r"\b(cow|cows|cattle|bull|moo|ox|oxen|calf|bovines?)\b", "cow", ("a cow mooing", "cattle mooing"),
      ("Cattle, bovinae", "Moo")),
    R(r"\b(sheep|lamb|goat|goats|ram|ewe|bleat|baa)\b", "sheep", ("a sheep bleating", "a goat bleating"),
      ("Sheep", "Goat", "Bleat")),
    R(r"\b(pig|pigs|boar|hog|oink|piglet)\b", "pig", ("a pig grunting", "pigs oinking"), ("Pig", "Oink")),
    R(r"\b(horse|horses|horseman|hooves?|canter|gallop|neigh|donkey|pony|cavalry|clipclop)\b", "horse",
      ("a horse neighing and trotting", "a horse's hooves"), ("Horse", "Clip-clop", "Neigh, whinny")),
    R(r"\b(duck|ducks|quack|quackquack|drake|goose|geese|gander)\b", "duck", ("a duck quacking", "ducks quack"),
      ("Duck", "Quack", "Goose")),
    R(r"\b(turkey|gobble)\b", "turkey", ("a turkey gobbling",), ("Turkey", "Gobble")),
    # --- wild animals ---
    R(r"\b(wolf|wolves|howl|coyote|jackal)\b", "wolf", ("a wolf howling", "a wolf growling"),
      ("Canidae, dogs, wolves", "Howl")),
    R(r"\b(lion|tiger|leopard|panther|jaguar|cheetah|big cats?|roar|roars)\b", "big cat roar",
      ("a lion roaring", "a big cat roars"), ("Roaring cats (lions, tigers)", "Roar")),
    R(r"\b(bear|bears|grizzly)\b", "bear", ("a bear growling",), ("Growling", "Wild animals")),
    R(r"\b(elephant|elephants|mammoth)\b", "elephant", ("an elephant trumpeting",), ("Wild animals",)),
    R(r"\b(camel|camels)\b", "camel", ("a camel grunting",), ("Wild animals",)),
    R(r"\b(deer|stag|moose|elk|caribou|reindeer)\b", "deer", ("a deer calling", "a stag bellowing"),
      ("Wild animals",)),
    R(r"\b(monkey|monkeys|ape|apes|gorilla|chimp|chimpanzee)\b", "monkey", ("monkeys chattering",), ("Wild animals",)),
    R(r"\b(owl|owls|hoot)\b", "owl", ("an owl hooting",), ("Owl", "Hoot")),
    R(r"\b(crow|crows|raven|ravens|caw)\b", "crow", ("a crow cawing",), ("Crow", "Caw")),
    R(r"\b(gull|gulls|seagull|seagulls)\b", "seagull", ("seagulls crying",), ("Bird", "Squawk")),
    R(r"\b(pigeon|dove|coo)\b", "pigeon", ("a pigeon cooing",), ("Pigeon, dove", "Coo")),
    R(r"\b(hawk|eagle|falcon|vulture)\b", "bird of prey", ("a hawk screeching",), ("Bird", "Squawk")),
    R(r"\b(parrot|penguin|peacock|flamingo|ostrich)\b", "bird", ("a bird calling",), ("Bird",)),
    R(r"\b(bird|birds|birdchirp|songbird|chirp|tweet|twitter|lark|sparrow|robin|cuckoo|canary|nightingale)\b",
      "birds", ("birds chirping", "a bird singing"), ("Bird", "Bird vocalization, bird call, bird song", "Chirp, tweet")),
    R(r"\b(bat|bats)\b", "bat", ("bats squeaking and flapping",), ("Bird flight, flapping wings",)),
    R(r"\b(flap|flapping|wings?)\b", "wings flapping", ("wings flapping",), ("Bird flight, flapping wings", "Flap")),
    R(r"\b(cricket|crickets|cicada|cycadas|grasshopper)\b", "crickets", ("crickets chirping",),
      ("Insect", "Cricket")),
    R(r"\b(bee|bees|wasp|hornet|mosquito|fly|flies|insects?|bug|buzz)\b", "insect buzzing",
      ("an insect buzzing", "bees buzzing"), ("Insect", "Bee, wasp, etc.", "Buzz")),
    R(r"\b(frog|frogs|toad|croak)\b", "frog", ("frogs croaking",), ("Frog", "Croak")),
    R(r"\b(snake|snakes|hiss|rattlesnake|serpent)\b", "snake hiss", ("a snake hissing",), ("Snake", "Hiss")),
    R(r"\b(whale|dolphin|orca)\b", "whale", ("a whale calling", "a dolphin clicking"), ("Whale vocalization",)),
    R(r"\b(mouse|mice|rat|rats|squirrel|hamster|rabbit|hedgehog|beaver|koala|capybara)\b", "small mammal",
      ("a small animal squeaking",), ("Rodents, rats, mice",)),
    R(r"\b(growl|growls|snarl)\b", "growl", ("an animal growling",), ("Growling",)),
    # --- human body and household water (before footsteps: "water running" is not a gait) ---
    R(r"\b(baby cry|baby crying|babycry|infant cry|crying baby)\b", "baby cry", ("a baby crying", "an infant wailing"),
      ("Baby cry, infant cry", "Crying, sobbing")),
    R(r"\b(children playing|kids playing|school|schoolyard|playground)\b", "children playing",
      ("children playing and shouting in a schoolyard", "kids playing outside"),
      ("Children playing", "Children shouting", "Child speech, kid speaking")),
    R(r"\b(party|party noise)\b", "party chatter", ("people chatting and laughing at a party", "a lively party crowd"),
      ("Chatter", "Crowd", "Hubbub, speech noise, speech babble")),
    R(r"\b(finger ?snaps?|fingersnap|snapping fingers)\b", "finger snap", ("fingers snapping", "someone snapping their fingers"),
      ("Finger snapping",)),
    R(r"\b(water running|running water|faucet|tap water)\b", "faucet", ("water running from a tap", "a faucet running"),
      ("Water tap, faucet", "Sink (filling or washing)", "Water")),
    R(r"\b(shower)\b", "shower", ("a shower running", "water spraying from a shower"), ("Water", "Spray")),
    R(r"\b(foot ?steps?|steps?|walk(ing)?|run(ning)?|hstep|mstep|footstep|metalfootstep|gait|sprint|fs|singlesteps)\b", "footsteps",
      ("{gait}footsteps{on}", "someone {gait2}{on}", "a person's footsteps{on}"), ("Walk, footsteps", "Run")),
    R(r"\b(heart ?beat|heart)\b", "heartbeat", ("a heart beating", "a heartbeat"), ("Heart sounds, heartbeat",)),
    R(r"\b(cough|coughing)\b", "cough", ("a person coughing", "someone coughs"), ("Cough",)),
    R(r"\b(sneeze)\b", "sneeze", ("a person sneezing",), ("Sneeze",)),
    R(r"\b(laugh|laughs|laughing|laughter|giggle|hahaha|chuckle|evillaugh|crazylaugh)\b", "laughter",
      ("a person laughing", "laughter"), ("Laughter",)),
    R(r"\b(scream|screams|screaming|shriek|yell|civfemscream|wilhelmscream|fallingscreamhi|aaaah it burns)\b", "scream", ("a person screaming", "a loud scream"),
      ("Screaming", "Yell")),
    R(r"\b(applause|applauses|clapping|claps?)\b", "applause", ("people clapping", "applause from a crowd"),
      ("Applause", "Clapping")),
    R(r"\b(boo|booing|crowdboo)\b", "crowd booing", ("a crowd booing", "spectators booing"), ("Crowd",)),
    R(r"\b(crowdooh|crowd ooh)\b", "crowd groan", ("a crowd going ooh", "spectators groaning in disappointment"),
      ("Crowd", "Groan")),
    R(r"\b(cheer|cheering|cheeringloop|crowdcheer|crowd|croud|sports croud|woohoo|yay)\b", "crowd cheering", ("a crowd cheering", "people cheering"),
      ("Cheering", "Crowd")),
    R(r"\b(gasp|drown|gurp)\b", "gasp", ("a person gasping for air",), ("Gasp", "Breathing")),
    R(r"\b(inn|biginn|tavern|taverns)\b", "tavern chatter", ("people chatting in a busy tavern", "the hubbub of a crowded inn"),
      ("Chatter", "Hubbub, speech noise, speech babble")),
    R(r"\b(kiss)\b", "kiss", ("a kiss", "someone kissing"), ()),
    R(r"\b(burp)\b", "burp", ("someone burping",), ("Burping, eructation",)),
    R(r"\b(fart|farts)\b", "fart", ("someone farting",), ("Fart",)),
    R(r"\b(eat|eating|meal|chew|chewing|bite)\b", "eating", ("someone eating", "chewing food"),
      ("Chewing, mastication",)),
    R(r"\b(snore|snoring)\b", "snoring", ("a person snoring",), ("Snoring",)),
    R(r"\b(whistle|whistling|refwhistle\w*)\b", "whistle", ("a whistle blowing", "someone whistling"), ("Whistle",)),
    # --- deaths and pain (after animals: 'cow_die' is a cow) ---
    R(r"\b(death|die|dies|dying|deathcry|civfemdeath|maledeath|femaledeath|civmaledeath|deadman|critdie|ooooof)\b", "death cry", ("a person crying out in pain and dying",
      "a dying groan"), ("Groan", "Wail, moan")),
    R(r"\b(pain|hurt|injured|ouch|grunt|grunts|ow|ooff|oof|malehurt|femalehurt|civmalehurt|groan|wail)\b", "pain grunt", ("a person grunting in pain", "a pained grunt"),
      ("Grunt", "Groan")),
    # --- weather, water, fire ---
    R(r"\b(thunder|thunderstorm|lightning|storm)\b", "thunder", ("thunder rumbling", "a thunderstorm"),
      ("Thunder", "Thunderstorm")),
    R(r"\b(rain|raining|rainfall|drizzle|rain windshield)\b", "rain", ("rain falling", "the patter of rain"),
      ("Rain", "Rain on surface")),
    R(r"\b(wind ?chimes?)\b", "wind chime", ("wind chimes tinkling", "a wind chime ringing in the breeze"),
      ("Wind chime",)),
    R(r"\b(wind|windy|windstorm|windgust|gust|blizzard|stormwind|howling wind|windhowling|windoutside|demonwind)\b", "wind",
      ("wind blowing", "a strong wind howling"), ("Wind",)),
    R(r"\b(waterfall|waterfall deep)\b", "waterfall", ("a waterfall roaring",), ("Waterfall", "Water")),
    R(r"\b(river|stream|creek|brook)\b", "stream", ("a stream flowing", "water running in a river"),
      ("Stream", "Water")),
    R(r"\b(ocean|oceanwaves|sea|waves?|wavecrash|surf|beach|shore)\b", "ocean waves",
      ("ocean waves crashing", "waves breaking on the shore"), ("Ocean", "Waves, surf")),
    R(r"\b(drip|drips|droplets?|waterdrip|water drops?)\b", "dripping", ("water dripping",), ("Drip",)),
    R(r"\b(splash|splashes|splashing|dive|plunge|watersplash|watr in|watr out|watr un|fisher pull net|fisher throw net|"
      r"planewater|beewater)\b", "splash", ("a splash in water", "something splashing"),
      ("Splash, splatter", "Water")),
    R(r"\b(bubble|bubbles|bubbling|boil|boiling|lava|beerbubble|winebubble|blubber|cf blubber)\b", "bubbling", ("liquid bubbling",), ("Gurgling", "Boiling")),
    R(r"\b(pour|pouring|fill|water fill|tap|faucet)\b", "water pouring", ("water pouring",), ("Pour", "Water tap, faucet")),
    R(r"\b(steam|steam burst|steam fade)\b", "steam hiss", ("steam hissing from a pipe",), ("Steam", "Hiss")),
    R(r"\b(water|liquid|swim|swimming|pipewater)\b", "water", ("water sloshing", "the sound of water"), ("Water", "Slosh")),
    R(r"\b(campfire|fire|fires|burn|burning|flame|flames|crackle|torch|fireplace|furnace|flamer|flamethrower|blowtorch|fry|"
      r"molotov)\b", "fire",
      ("a fire crackling", "flames burning"), ("Fire", "Crackle")),
    # --- ambience ---
    R(r"\b(forest|jungle|swamp|nightcrickets|night|nightime|countryside|meadow|day|sunny day|desertday|good morning)\b", "nature ambience",
      ("outdoor nature ambience", "a forest at night with insects and birds"), ("Outside, rural or natural",)),
    R(r"\b(farm|amb farm)\b", "farm ambience", ("farm ambience with animals",), ("Outside, rural or natural",
      "Livestock, farm animals, working animals")),
    R(r"\b(city|citysounds|traffic|heavytraffic|trafic|street|market|harbor|port|town)\b", "city ambience",
      ("city street ambience", "busy traffic in a town"), ("Outside, urban or manmade", "Traffic noise, roadway noise")),
    R(r"\b(ambience|ambient|amb|atmosphere|atm)\b", "ambience", ("background ambience",), ("Environmental noise",)),
    # --- vehicles ---
    R(r"\b(helicopter|rotor|chopper)\b", "helicopter", ("a helicopter flying", "helicopter rotor blades"),
      ("Helicopter",)),
    R(r"\b(jet|jets|airplane|aeroplane|plane|cessna|aircraft|propeller|takeoff|flyby|airport)\b", "airplane",
      ("an airplane engine", "a plane flying overhead"), ("Aircraft", "Fixed-wing aircraft, airplane", "Aircraft engine")),
    R(r"\b(police ?car|firetruck|fire truck|ambulance|siren|sirens)\b", "siren", ("an emergency siren wailing",),
      ("Siren", "Emergency vehicle")),
    R(r"\b(car ?horn|horn|honk|honkhonk|klaxon|hooter)\b", "horn", ("a vehicle horn honking", "a horn blaring"),
      ("Vehicle horn, car horn, honking",)),
    R(r"\b(train|railway|rail train|locomotive|steam ?locomotive|tram|level crossing)\b", "train",
      ("a train passing", "a train rumbling along the tracks"), ("Train", "Rail transport")),
    R(r"\b(ship|boat|ships|boats|smove|sail|ferry|rowing|oar)\b", "boat", ("a boat on the water", "a ship's engine"),
      ("Boat, Water vehicle", "Ship")),
    R(r"\b(skid|skids|screech|tires?|tyres?)\b", "tire skid", ("tires screeching", "a car skidding"),
      ("Skidding", "Tire squeal")),
    R(r"\b(crash|crashes|collision|wreck)\b", "crash", ("a loud crash", "something crashing"), ("Smash, crash",)),
    R(r"\b(bus|buses|busses)\b", "bus", ("a bus engine running", "a bus driving"), ("Bus", "Vehicle")),
    R(r"\b(truck|lorry|diesel|tank|tanks|tractor)\b", "truck", ("a heavy truck engine rumbling",),
      ("Truck", "Heavy engine (low frequency)")),
    R(r"\b(bicycle|bicycles|cycling)\b", "bicycle", ("a bicycle rolling along", "someone riding a bicycle"), ("Bicycle",)),
    R(r"\b(skateboard|skateboarding)\b", "skateboard", ("a skateboard rolling",), ("Skateboard",)),
    R(r"\b(car passing|passing car|car pass ?by)\b", "car passing", ("a car passing by", "a car driving past"),
      ("Car passing by", "Car", "Vehicle")),
    R(r"\b(motorbike|motorcycle|scooter)\b", "motorcycle", ("a motorcycle engine",), ("Motorcycle",)),
    R(r"\b(idle|idling|engine idle)\b", "engine idling", ("an engine idling", "a motor running at idle"),
      ("Idling", "Engine")),
    R(r"\b(car|cars|engine|engines|motor|rev|backfire|gear change|turbo|exhaust|starter|crank|porsche|"
      r"viper|lamborghinidiablo|lotus|celica|ferrarif|ford|corolla|mclarenf|nsx|renault|xj|alpha romeo|road ride|axle|"
      r"cleanviper|tankmove|jetwash|jetpackboost|carts cart moving|minecart)\b", "engine",
      ("an engine running", "a car engine revving"), ("Engine", "Car", "Vehicle")),
    # --- tools and work ---
    R(r"\b(chainsaw|chain saw|tree cutting)\b", "chainsaw", ("a chainsaw cutting wood", "a chainsaw engine revving"),
      ("Chainsaw", "Power tool", "Sawing")),
    R(r"\b(buzzsaw|circular saw|table saw)\b", "circular saw", ("a circular saw cutting", "a power saw whining"),
      ("Power tool", "Sawing")),
    R(r"\b(sawmill|saw|saws|sawing|benchsaw)\b", "saw", ("wood being sawed", "a saw cutting"), ("Sawing",)),
    R(r"\b(jackhammer|pickhammer|pneumatic drill)\b", "jackhammer", ("a jackhammer pounding",
      "a pneumatic drill breaking concrete"), ("Jackhammer", "Power tool")),
    R(r"\b(drill|drilling|drillgun)\b", "drill", ("a power drill",), ("Drill", "Power tool")),
    R(r"\b(sewing machine|sewing)\b", "sewing machine", ("a sewing machine running",), ("Sewing machine",)),
    R(r"\b(anvil|smith|smiths|smithing|blacksmith|forge)\b", "anvil", ("a hammer striking an anvil",),
      ("Hammer", "Clang")),
    R(r"\b(building fall|tech building fall|magic building fall|cave in|collapse)\b", "collapse",
      ("a structure collapsing into rubble",), ("Smash, crash", "Rumble")),
    R(r"\b(hammer|hammering|hammers|mallet|nail|construct|construction|technician build|worker build|shaman build|"
      r"initiate build|worker work|initiate work|work end|work start|place node)\b", "hammering",
      ("hammering", "a hammer pounding"), ("Hammer",)),
    R(r"\b(chop|chopping|lumber|woodcutter|woodcutting|fast woodcutting|tree ?fall|tree|timber|axe wood|dig choppy|"
      r"breakwood)\b", "wood chopping",
      ("wood being chopped with an axe", "an axe chopping a tree"), ("Chop", "Wood")),
    R(r"\b(gather field|farming|hoe|field)\b", "farming", ("someone working the soil with a hoe",
      "a farmer harvesting a field"), ("Scrape", "Rustle")),
    R(r"\b(gather meat|butcher)\b", "butchering", ("meat being cut with a knife",), ("Chopping (food)",)),
    R(r"\b(gather fruit|foraging|leaves|bush|rustle)\b", "rustling leaves", ("leaves rustling as fruit is picked",
      "rustling leaves"), ("Rustling leaves", "Rustle")),
    R(r"\b(dig|digging|shovel|mine|mining|pickaxe|stonemason|stonecutting|stonecutter|stonegrind|cracky|quarry|dug)\b", "digging",
      ("digging in the ground", "a pickaxe striking stone"), ("Scrape", "Crunch")),
    R(r"\b(scythe|harvest|reap|sickle)\b", "scythe", ("a scythe cutting grass",), ("Whoosh, swoosh, swish",)),
    R(r"\b(fan|fans)\b", "fan", ("a mechanical fan whirring",), ("Mechanical fan", "Whir")),
    R(r"\b(machine|machines|machinery|machinerydrone|machinevat|factory|factoryloop|generator|mill|windmill|pump|"
      r"industrial|gears?|conveyor|weaver|goldspin|magmapump)\b",
      "machinery", ("machinery running", "a factory machine humming"), ("Mechanisms", "Hum")),
    R(r"\b(alarm ?clock)\b", "alarm clock", ("an alarm clock ringing",), ("Alarm clock", "Alarm")),
    R(r"\b(church bells?|bell toll|toll|tolling|towerclock|tower clock|clock tower)\b", "church bell",
      ("a church bell tolling", "a large bell ringing"), ("Church bell", "Bell")),
    R(r"\b(clock|clocks|ticking|tick ?tock|tock|watch|wristwatch)\b", "clock", ("a clock ticking",), ("Clock", "Tick-tock", "Tick")),
    R(r"\b(chalk|chalkboard|blackboard)\b", "writing", ("writing with chalk on a blackboard",
      "chalk scratching on a board"), ("Writing", "Scratch")),
    # --- household and small objects ---
    R(r"\b(door ?bell|doorbell)\b", "doorbell", ("a doorbell ringing",), ("Doorbell", "Ding-dong")),
    R(r"\b(door|doors|gate|gates|stonegate|hatch)\b", "door", ("a {mat}door {door}", "someone {door2} a {mat}door"),
      ("Door",)),
    R(r"\b(knock|knocking)\b", "knock", ("someone knocking on a door",), ("Knock",)),
    R(r"\b(chest|box|crate|lid|drawer)\b", "box", ("a wooden box opening",), ("Cupboard open or close",)),
    R(r"\b(glass|glasses|break ?glass|breakglass|shatter|window)\b", "glass", ("glass shattering", "glass breaking"),
      ("Glass", "Shatter")),
    R(r"\b(bottle|cork)\b", "bottle", ("a bottle clinking",), ("Chink, clink",)),
    R(r"\b(vacuum|vacuum cleaner|hoover)\b", "vacuum cleaner", ("a vacuum cleaner running",), ("Vacuum cleaner",)),
    R(r"\b(washing machine|dishwasher)\b", "washing machine", ("a washing machine running",), ("Mechanisms",)),
    R(r"\b(kettle)\b", "kettle", ("a kettle boiling",), ("Boiling",)),
    R(r"\b(toilet|flush)\b", "toilet flush", ("a toilet flushing",), ("Toilet flush",)),
    R(r"\b(zipper|zipping)\b", "zipper", ("a zipper being pulled", "someone zipping up a jacket"),
      ("Zipper (clothing)",)),
    R(r"\b(scissors)\b", "scissors", ("scissors cutting",), ("Scissors",)),
    R(r"\b(typewriter|type writer)\b", "typewriter", ("a typewriter typing",), ("Typewriter", "Typing")),
    R(r"\b(keyboard|typing|keypress)\b", "keyboard typing", ("typing on a keyboard",),
      ("Typing", "Computer keyboard")),
    R(r"\b(camera|shutter|shutterclick|photo|screenshot)\b", "camera shutter", ("a camera shutter clicking",), ("Camera",)),
    R(r"\b(coins?|cash|money|till|cash register|gold|us quarter)\b", "coins", ("coins jingling", "a cash register"),
      ("Coin (dropping)", "Cash register")),
    R(r"\b(ripped|ripping|tearing|torn)\b", "tearing", ("paper being torn", "something being ripped apart"),
      ("Tearing",)),
    R(r"\b(crumple|crumpled|crumpling|crinkle|crinkling|trash empty)\b", "crumpling paper",
      ("paper being crumpled", "crinkling paper"), ("Crumpling, crinkling",)),
    R(r"\b(paper|newspaper|book|page|pages|scroll|map)\b", "paper", ("paper rustling", "pages turning"), ("Rustle",)),
    R(r"\b(cloth|leather|fabric|armor|armour|chainmail)\b", "cloth rustling", ("cloth rustling",), ("Rustle",)),
    R(r"\b(bell|bells|gong|chime|chimes)\b", "bell", ("a bell ringing",), ("Bell",)),
    R(r"\b(alarm|alarms|air raid|alert|warning)\b", "alarm", ("an alarm sounding",), ("Alarm",)),
    R(r"\b(telephone|phone|oldphone|ringtone)\b", "telephone", ("a telephone ringing",), ("Telephone", "Telephone bell ringing")),
    R(r"\b(morse)\b", "morse code", ("morse code beeping",), ("Beep, bleep",)),
    R(r"\b(radiostatic|radio static|static)\b", "radio static", ("radio static crackling",), ("Static",)),
    R(r"\b(electric|electricity|spark|sparks|sparking|circuit|zapper|power ?line|breakelectric|electro|zzzt|curnt|"
      r"tesla tower|substation)\b", "electric sparks",
      ("electric sparks crackling", "an electrical buzz"), ("Hum", "Crackle")),
    R(r"\b(casings|brass|shell casings)\b", "shell casings", ("spent shell casings tinkling on the floor",),
      ("Jingle, tinkle",)),
    R(r"\b(metal|metalbang|clang|clank|anvil hit|chain|chains|breakmetal|metalhitground|armorimpact|can)\b", "metal clang", ("metal clanging", "a metallic clang"),
      ("Clang",)),
    R(r"\b(stone|stones|stonebang|rock|rocks|rockhit|rubble|collapse|raze|debris)\b", "rocks", ("rocks tumbling",
      "stones knocking together"), ("Crushing", "Thump, thud")),
    R(r"\b(wood|wooden|plank|creak|creaking)\b", "wood creak", ("wood creaking", "a wooden knock"), ("Creak", "Wood")),
    R(r"\b(whip|whipcrack)\b", "whip", ("a whip cracking",), ("Whip",)),
    R(r"\b(squish|squishy|splat|gib splat|gibsplt|slime)\b", "squish", ("a wet squelch",), ("Squish",)),
    R(r"\b(sizzle|fizz)\b", "sizzle", ("something sizzling",), ("Sizzle",)),
    R(r"\b(whoosh|swoosh|swish|woosh|swing|miss|throw|throwing knife|dart|nexwhoosh|throwrelease)\b", "whoosh", ("a fast whoosh",), ("Whoosh, swoosh, swish",)),
    R(r"\b(bounce|boing|spring|jump|trampoline|bump)\b", "bounce", ("a springy bounce",), ("Boing", "Bouncing")),
    R(r"\b(fireworks?|firecracker)\b", "fireworks", ("fireworks exploding",), ("Fireworks",)),
    R(r"\b(pop|pops|cork pop)\b", "pop", ("a pop",), ("Burst, pop",)),
    # --- generic impacts last ---
    R(r"\b(tuba|tuba note)\b", "tuba", ("a tuba note", "a low brass note on a tuba"), ("Brass instrument",)),
    R(r"\b(punch|punches|hit|hits|impact|impacts|smack|slap|thud|kick|body|melee|attack|fight|strike|mace|club|flail|"
      r"staff|hatchet|fist|claws|pincers|bodyslam|bodyimpact|hitground|stomp|land|baseballbat)\b",
      "impact", ("a heavy impact thud", "a punch landing"), ("Thump, thud", "Slap, smack")),
)
# fmt: on

_COMPILED = tuple((re.compile(rule.pattern), rule) for rule in RULES)

# Variant suffixes and file-format noise that carry no meaning for the caption.
_NOISE = re.compile(
    r"\b(la|cut|mono|stereo|loop|looped|sfx|snd|wav|ogg|sound|sounds|default|x\d*|v\d+|hd|lo|hi|"
    r"short|long|alt|final|new|old|copy|[a-z])\b"
)


def normalize_name(text: str) -> str:
    """Lower-case words of a file or folder name: camelCase split, separators and digits dropped.

    >>> normalize_name("LRRain_in_garden_01_LA_cut.ogg")
    'lr rain in garden'
    """
    text = re.sub(r"\.(wav|ogg|oga|flac|mp3|opus|aiff?)$", "", text, flags=re.I)
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    text = re.sub(r"[_\-.+,()\[\]#&']+", " ", text).lower()
    text = re.sub(r"\d+", " ", text)
    text = _NOISE.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def match_text(text: str) -> Rule | None:
    """First rule whose pattern is found in an already normalised text, or None."""
    for pattern, rule in _COMPILED:
        if pattern.search(text):
            return rule
    return None


def categorize(rel_path: str) -> tuple[Rule | None, str]:
    """Categorise a package-relative path: file name first, then folders from the innermost out.

    Voice and music folders win over the file name, so a line spoken under ``voice/`` never
    becomes SFX.

    Returns:
        ``(rule or None, the normalised text that matched or the normalised file name)``.
    """
    parts = rel_path.split("/")
    stem = normalize_name(parts[-1])
    folders = [normalize_name(p) for p in reversed(parts[:-1])][:3]
    for folder in folders:
        rule = match_text(folder)
        if rule is not None and rule.category in ("_voice", "_music"):
            return rule, folder
    rule = match_text(stem)
    if rule is not None:
        return rule, stem
    for folder in folders:
        rule = match_text(folder)
        if rule is not None:
            return rule, folder
    return None, stem


def rule_for_category(category: str) -> Rule | None:
    """The first rule with this category (for handlers that know the category directly)."""
    for rule in RULES:
        if rule.category == category:
            return rule
    return None
