// Screenshot stand-in for <rich-text>: carries the HTML to the page the script writes.
Component({ properties: { nodes: String } });
