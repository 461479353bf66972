import { hostileSuite } from "./suite.js";

hostileSuite("iter");
