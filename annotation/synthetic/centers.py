"""The fictional centres, their scanners' looks, and the name lists for fake patients and staff."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Center:
    code: str
    name: str
    is_internal: bool
    is_oncology_center: bool
    address: str
    manufacturer: str
    model: str
    software_version: str
    station_name: str
    # The scanner look.
    width: int
    height: int
    header_height: int
    half_angle_deg: float  # half the sector opening angle
    pixel_spacing_mm: float  # the field depth follows from this and the sector size
    dynamic_range_db: float
    gain_db: float
    gamma: float
    speckle_sigma: tuple[float, float]  # (axial, lateral) speckle grain in pixels
    tint: str  # "gray", "blue" or "sepia"; tinted centres store RGB
    low_contrast: bool  # readers make more mistakes on these
    header_layout: int  # 0 or 1
    probe: str

    @property
    def color_model(self) -> str:
        return "MONOCHROME2" if self.tint == "gray" else "RGB"


CENTERS: tuple[Center, ...] = (
    Center(
        code="INT1",
        name="Northbridge Women's Hospital",
        is_internal=True,
        is_oncology_center=False,
        address="12 Harrow Lane, Northbridge",
        manufacturer="Sonara Medical",
        model="S8",
        software_version="4.2.1",
        station_name="SONARA-GYN1",
        width=640,
        height=480,
        header_height=44,
        half_angle_deg=55.0,
        pixel_spacing_mm=0.24,
        dynamic_range_db=52.0,
        gain_db=0.0,
        gamma=1.35,
        speckle_sigma=(0.9, 2.2),
        tint="gray",
        low_contrast=False,
        header_layout=0,
        probe="TV 5-9 MHz GYN",
    ),
    Center(
        code="INT2",
        name="Northbridge Cancer Centre",
        is_internal=True,
        is_oncology_center=True,
        address="3 Meridian Road, Northbridge",
        manufacturer="EchoVista",
        model="EV700",
        software_version="EV 7.0.3",
        station_name="EV700-ONC2",
        width=800,
        height=600,
        header_height=50,
        half_angle_deg=60.0,
        pixel_spacing_mm=0.22,
        dynamic_range_db=48.0,
        gain_db=1.5,
        gamma=1.5,
        speckle_sigma=(1.0, 2.6),
        tint="gray",
        low_contrast=False,
        header_layout=1,
        probe="EV9-4 GYN TV",
    ),
    Center(
        code="EXT1",
        name="Saint Aldric University Clinic",
        is_internal=False,
        is_oncology_center=True,
        address="88 Cloister Street, Aldric",
        manufacturer="Lumison",
        model="L-Pro",
        software_version="LP 2.11",
        station_name="LPRO-US03",
        width=720,
        height=540,
        header_height=46,
        half_angle_deg=65.0,
        pixel_spacing_mm=0.25,
        dynamic_range_db=58.0,
        gain_db=-1.0,
        gamma=1.25,
        speckle_sigma=(1.1, 2.4),
        tint="blue",
        low_contrast=False,
        header_layout=0,
        probe="LV 4-10 Pelvis",
    ),
    Center(
        code="EXT2",
        name="Valmont District Hospital",
        is_internal=False,
        is_oncology_center=False,
        address="Route de Valmont 5, Valmont",
        manufacturer="Aurelis Imaging",
        model="AX-3",
        software_version="1.9.0b",
        station_name="AX3-OBGYN",
        width=640,
        height=480,
        header_height=42,
        half_angle_deg=50.0,
        pixel_spacing_mm=0.26,
        dynamic_range_db=66.0,
        gain_db=-3.0,
        gamma=1.15,
        speckle_sigma=(1.6, 3.4),
        tint="sepia",
        low_contrast=True,
        header_layout=1,
        probe="AX-E8 Endocavity",
    ),
)

# Distinctive, clearly fake names so tests and de-identification checks can search for them.
FIRST_NAMES = (
    "MARGARETHE",
    "ROSALIND",
    "WILHELMINA",
    "ISOLDE",
    "CORNELIA",
    "THEODORA",
    "EVANGELINE",
    "PHILIPPA",
    "GWENDOLYN",
    "LEOCADIA",
    "ANSELMA",
    "BRUNHILDE",
    "CLEMENTINE",
    "DOROTHEA",
    "ERMENGARDE",
    "FREDERIKA",
    "GERTRUDIS",
    "HILDEGARD",
    "IMOGENE",
    "JOSEPHA",
    "KUNIGUNDE",
    "LUDMILLA",
    "MECHTHILD",
    "NOTBURGA",
    "OTTILIE",
    "PERPETUA",
    "QUIRINA",
    "RADEGUNDE",
    "SCHOLASTIKA",
    "TRAUDLINDE",
    "URSELINA",
    "VERONIKA",
    "WALBURGA",
    "XAVERIA",
    "ZENOBIA",
)  # fmt: skip
LAST_NAMES = (
    "OSTERWALD",
    "BRACKENRIDGE",
    "FALKENHAYN",
    "QUILLFEATHER",
    "MARROWBY",
    "HOLLINSWORTH",
    "VANDERKLOOT",
    "ASHCOMBE",
    "TREMAYNE-ROSS",
    "WINTERBOTTOM",
    "ELDERSHAW",
    "GRIMSTEAD",
    "KETTLEWELL",
    "LOWENSTRAHL",
    "MORTLAKE",
    "NETHERCOTT",
    "PENDLEBURY",
    "RAVENSCROFT",
    "STOCKENBURG",
    "THISTLEWAITE",
    "UFFINGTON",
    "WEATHERILL",
    "YARDLEY-FOX",
    "ZELLWEGERIN",
    "ABERNETHIE",
    "BELLINGHAUS",
    "COLDHARBOUR",
    "DUNSTERVILLE",
    "FOXGLOVE",
    "GLASSBROOK",
    "HAVERSTOCK",
    "IRONMONGER",
    "JESSAMYN",
    "KINGSWELL",
    "LAMBSHEAD",
    "MIDDLEDITCH",
    "NORTHCOTE",
    "OAKENFOLD",
    "PRESTWICH",
    "RUSHBROOKE",
)  # fmt: skip
STAFF_NAMES = (
    "DR^ALBRECHT^H",
    "DR^BEAUMONT^C",
    "DR^CASTELLANE^M",
    "DR^DRUMMOND^E",
    "DR^EKWUEME^O",
    "DR^FONTAINE^L",
    "DR^GALLOWAY^R",
    "DR^HALVORSEN^K",
)  # fmt: skip
SONOGRAPHERS = ("SONO^AMBER", "SONO^BRIDGET", "SONO^CELESTE", "SONO^DAGMAR", "SONO^ESTELLE")
