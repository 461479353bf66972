import { hostileSuite } from "./suite.js";

hostileSuite("btf");
