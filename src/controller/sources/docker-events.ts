import type { DockerClient } from "../../docker/connection.ts";
import type { EngineWatch } from "../../docker/engine-watch.ts";
import { watchContainerEvents } from "../../docker/event-stream.ts";
import { imageIdOf } from "../../domain/labels.ts";
import type { Logger } from "../../logger.ts";
import type { ContainerNews } from "../../reconcilers/image/container-news.ts";
import { hasOurName } from "../../reconcilers/image/ownership.ts";
import { imageIdOfTaskContainer } from "../../reconcilers/swarm/service-request.ts";
import type { KeySink, StopSource } from "./key-sink.ts";

/**
 * Docker's events about our containers: the image a container belongs to needs a look. A
 * container without a valid image id, or a (re)connection of the stream (events may have been
 * missed), asks for a full resync.
 */
export function watchDockerEvents(
  docker: DockerClient,
  orchestratorId: string,
  sink: KeySink,
  logger: Logger,
  options: { readonly engine?: EngineWatch; readonly news?: ContainerNews } = {},
): StopSource {
  return watchContainerEvents(
    docker,
    orchestratorId,
    {
      onEvent: (event) => {
        // A Swarm task's container (RUNTIME=swarm): its image needs a look (the task's state
        // reaches the manager a moment later: the pass that is not settled looks again soon).
        const taskImage = imageIdOfTaskContainer(event.labels.name ?? "", orchestratorId);
        if (taskImage !== undefined) {
          sink.enqueue(taskImage);
          return;
        }
        // Labels are claims: a build step's container may carry ours (a Dockerfile LABEL).
        if (!hasOurName({ name: event.labels.name ?? "", labels: event.labels }, orchestratorId))
          return;
        const imageId = imageIdOf(event.labels);
        if (imageId === undefined) {
          sink.requestResync();
          return;
        }
        // The next pass inspects this container rather than trusting the list.
        options.news?.heard(imageId, event.containerId, event.action);
        sink.enqueue(imageId);
        // Docker announces a death before its container list shows it (the list is an
        // eventually consistent view): look again once it has settled.
        sink.enqueueAfter(imageId, 1_000);
      },
      onConnected: () => sink.requestResync(),
    },
    logger,
    options.engine,
  );
}
