// Screenshot stand-in for <image>: carries src to the HTML the script writes.
Component({ properties: { src: String, mode: String } });
