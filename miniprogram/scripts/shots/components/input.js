// Screenshot stand-in for a built-in field: shows its value, else its placeholder (miniprogram-simulate keeps
// neither on the built-in tag).
Component({ properties: { value: String, placeholder: String, type: String, password: Boolean, maxlength: Number } });
