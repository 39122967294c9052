"""Where a job's model runs. A lane's runner takes a job and returns it finished:
- local (server/model_process.py): InlineRunner (the daemon's thread) or ProcessRunner (a model
  process per device), the default;
- ray (server/lanes/ray_lane.py): RayRunner, a Ray actor per GPU or per `[cluster] resources` entry,
  with `[cluster] engine = "ray"`.
Every runner has the same face: start, run(job, request, reporter, cancel), manage, preload, stop,
warm_models. The scheduler and the engine do not know which one a lane has.
"""
