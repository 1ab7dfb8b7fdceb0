import * as BokehLive from "./live"
import {EditorAssets} from "./editor"
export {BokehLive, EditorAssets}

import {register_models} from "@bokehjs/base"
register_models(BokehLive)
register_models({EditorAssets})
