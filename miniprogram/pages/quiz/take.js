// Placeholder until the page is built.
Component({});
