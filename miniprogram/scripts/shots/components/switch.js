// Screenshot stand-in for <switch>: on or off.
Component({ properties: { checked: Boolean, color: String } });
