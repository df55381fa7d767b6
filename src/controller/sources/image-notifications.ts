import { imagesChannel } from "../../store/channels.ts";
import type { Store } from "../../store/database.ts";
import type { KeySink, StopSource } from "./key-sink.ts";

/**
 * Every desired-state write NOTIFYs its image id: that image needs a look (spaced: a burst of
 * writes to one image is one pass per spacing, see KeySink.enqueueWritten). When the
 * subscription comes back after a lost connection, writes made meanwhile went unheard: resync.
 */
export async function watchImageNotifications(
  store: Pick<Store, "listen">,
  sink: KeySink,
): Promise<StopSource> {
  return store.listen(
    imagesChannel,
    (payload) => {
      const imageId = Number(payload);
      if (Number.isInteger(imageId) && imageId > 0) sink.enqueueWritten(imageId);
    },
    () => sink.requestResync(),
  );
}
