"""Benchmark of the greeter's foundation (prints figures; not a test).

1. face_detector node cost per 640x480 frame vs the raw mediapipe call on the same frames, same run
   (goal: node callback ≤ 1.3x raw). The callback figure is the FacesFrame's process_ms (image
   conversion, detection, tracking, engagement); the end-to-end figure is publish → FacesFrame
   received on greeter/faces, so it adds ROS transport of the image and the message's JSON.
2. Greeting latency, visitor_engaged → greeting_started: in sim time (the default scenario) and in
   wall time (the real nodes on the wall clock, frames published at 15 fps in real time).
3. CPU of the idle graph (every robot node as its own process, as on a robot: camera at 30 fps on an
   empty entrance, face_detector, microphone, asr with Vosk ko and Whisper base warm, tts, interaction,
   screen; hall noise published on audio/chunks in real time) over 20 s (goal ≤ 25 % of one core), and the
   graph's memory: RSS and PSS per node and summed, and the graph's RSS: the physical pages resident in any
   node, shared ones counted once (/proc/PID/pagemap, needs root; goal ≤ 1.5 GB = 1430 MiB); fresh, and
   again after `--speech` (40) questions were spoken into the microphone (the recognizers' working memory).
4. From the end of a visitor's speech to the first audio of the answer, in the default scenario's sim
   (the Korean visitor, heard by the real Korean model; goal ≤ 700 ms with the local assistant).

Run: .venv/bin/python bench/bench_greeter.py   (about 2 minutes)
     .venv/bin/python bench/bench_greeter.py --only idle   (3. alone, about 3 minutes; --speech 0: 1 minute)
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('ROS_DOMAIN_ID', str(150 + os.getpid() % 50))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
import rclpy  # noqa: E402
from rclpy.context import Context  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import String  # noqa: E402

from caexpo_robot import graph  # noqa: E402
from caexpo_robot.messages import FacesFrame, InteractionEvent, decode  # noqa: E402
from caexpo_robot.nodes.common import EVENTS, SENSOR_DATA  # noqa: E402
from caexpo_robot.nodes.conversions import image_msg  # noqa: E402
from caexpo_robot.sim.entrance import EntranceRenderer, expo_background  # noqa: E402
from caexpo_robot.sim.scenario import VisitorPlan, load_scenario  # noqa: E402

FRAMES = 300


def approach_frames(count: int) -> list[np.ndarray]:
    """Two visitors walking up to the robot and back, rendered like the simulator does."""
    plans = (VisitorPlan('a', 'astronaut', 'en', ((0, 4.5, 0.35), (1, 1.0, 0.4))),
             VisitorPlan('b', 'astronaut', 'en', ((0, 4.5, 0.7), (1, 1.0, 0.65)), mirror=True))
    renderer = EntranceRenderer(640, 480, 60.0, plans)
    frames = []
    for k in range(count):
        phase = abs((k % 100) - 50) / 50.0          # 1 → 0 → 1: far, near, far
        frames.append(renderer.render([('a', 1.0 + 3.5 * phase, 0.35), ('b', 1.3 + 3.2 * phase, 0.7)])[0])
    return frames


def percentile(values, q):
    return float(np.percentile(np.asarray(values), q))


def bench_detector_node(frames) -> dict:
    import mediapipe as mp
    raw_ms = []
    with mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as raw:
        for frame in frames:
            started = time.perf_counter()
            raw.process(frame)
            raw_ms.append((time.perf_counter() - started) * 1000)
    from caexpo_robot.nodes.face_detector_node import FaceDetectorNode

    class TimedFaceDetectorNode(FaceDetectorNode):
        """The node with its whole image callback timed, publishing (JSON, rcl) included."""
        def on_image(self, msg):
            started = time.perf_counter()
            super().on_image(msg)
            self.whole_callback_ms.append((time.perf_counter() - started) * 1000)
    context = Context()
    rclpy.init(context=context, args=[])
    # Every frame detected (no idle skipping), so the node does exactly the raw call's work plus its own.
    node = TimedFaceDetectorNode(context=context, parameter_overrides=[Parameter('idle_detect_hz', value=0.0)])
    node.whole_callback_ms = []
    probe = rclpy.create_node('bench_probe', context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    executor.add_node(probe)
    outputs = []
    probe.create_subscription(String, FacesFrame.TOPIC, outputs.append, EVENTS)
    pub = probe.create_publisher(Image, 'camera/image_raw', SENSOR_DATA)
    while pub.get_subscription_count() == 0:
        executor.spin_once(timeout_sec=0.05)
    node_ms = []
    try:
        for k, frame in enumerate(frames):
            stamp = Image().header.stamp
            stamp.sec, stamp.nanosec = divmod(k * 66_666_667, 1_000_000_000)
            started = time.perf_counter()
            pub.publish(image_msg(frame, stamp, 'camera'))
            while len(outputs) <= k:
                executor.spin_once(timeout_sec=0.5)
            node_ms.append((time.perf_counter() - started) * 1000)
    finally:
        executor.shutdown()
        node.close()
        node.destroy_node()
        probe.destroy_node()
        rclpy.try_shutdown(context=context)
    decoded = [decode(FacesFrame, m.data) for m in outputs]
    faces = sum(len(d.faces) for d in decoded)
    callback_ms = [d.process_ms for d in decoded]
    return {'frames': len(frames), 'faces_tracked_total': faces,
            'raw_mean_ms': statistics.mean(raw_ms), 'raw_p95_ms': percentile(raw_ms, 95),
            'callback_mean_ms': statistics.mean(callback_ms), 'callback_p95_ms': percentile(callback_ms, 95),
            'whole_callback_mean_ms': statistics.mean(node.whole_callback_ms),
            'whole_callback_p95_ms': percentile(node.whole_callback_ms, 95),
            'ratio_whole_callback': statistics.mean(node.whole_callback_ms) / statistics.mean(raw_ms),
            'node_mean_ms': statistics.mean(node_ms), 'node_p95_ms': percentile(node_ms, 95),
            'ratio_callback': statistics.mean(callback_ms) / statistics.mean(raw_ms),
            'ratio_mean': statistics.mean(node_ms) / statistics.mean(raw_ms)}


def bench_greeting_latency_wall() -> dict:
    """The real nodes on the wall clock; one visitor walks up at a normal pace, 15 fps real time."""
    from caexpo_robot.nodes.face_detector_node import FaceDetectorNode
    from caexpo_robot.nodes.interaction_node import InteractionNode
    from caexpo_robot.nodes.tts_node import TtsNode
    plans = (VisitorPlan('a', 'astronaut', 'en', ((0, 4.5, 0.5), (3.0, 1.2, 0.5), (8.0, 1.2, 0.5))),)
    renderer = EntranceRenderer(640, 480, 60.0, plans)
    wav_dir = tempfile.mkdtemp(prefix='bench_tts_')
    context = Context()
    rclpy.init(context=context, args=[])
    nodes = [FaceDetectorNode(context=context),
             TtsNode(context=context, parameter_overrides=[Parameter('audio_output', value='file'),
                                                            Parameter('wav_dir', value=wav_dir)]),
             InteractionNode(context=context, parameter_overrides=[Parameter('opener_languages', value=['en'])])]
    probe = rclpy.create_node('bench_probe', context=context)
    executor = SingleThreadedExecutor(context=context)
    for n in (*nodes, probe):
        executor.add_node(n)
    seen: dict[str, float] = {}

    def on_event(msg):
        kind = decode(InteractionEvent, msg.data).type
        seen.setdefault(kind, time.monotonic())
    probe.create_subscription(String, InteractionEvent.TOPIC, on_event, EVENTS)
    pub = probe.create_publisher(Image, 'camera/image_raw', SENSOR_DATA)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        while pub.get_subscription_count() == 0:
            time.sleep(0.05)
        started = time.monotonic()
        k = 0
        while time.monotonic() - started < 8.0 and 'greeting_started' not in seen:
            t = time.monotonic() - started
            frame, _ = renderer.render([('a', *plans[0].at(t))])
            pub.publish(image_msg(frame, nodes[0].get_clock().now().to_msg(), 'camera'))
            k += 1
            time.sleep(max(0.0, started + k / 15.0 - time.monotonic()))
    finally:
        executor.shutdown()
        spinner.join(timeout=5)
        for n in nodes:
            n.close()
            n.destroy_node()
        probe.destroy_node()
        rclpy.try_shutdown(context=context)
    if 'visitor_engaged' in seen and 'greeting_started' in seen:
        return {'engaged_to_greeting_wall_ms': (seen['greeting_started'] - seen['visitor_engaged']) * 1000}
    return {'engaged_to_greeting_wall_ms': None, 'events_seen': sorted(seen)}


def bench_greeting_latency_sim() -> dict:
    from caexpo_robot.sim.runner import run_simulation
    with tempfile.TemporaryDirectory() as out:
        summary = run_simulation(load_scenario(), Path(out), log=lambda line: None)
    # From the end of the visitor's voice (the simulator knows it) to the answer's first audio.
    latencies = [ms for visitor in summary['visitors'].values() for ms in visitor['speech_to_answer_ms']]
    return {'sim_greeting_latency_ms': summary['greeting_latency_ms'], 'sim_wall_s': summary['wall_s'],
            'sim_duration_s': summary['sim_duration_s'], 'heard_to_answer_ms': latencies}


def hall_noise(seconds: float = 30.0) -> np.ndarray:
    """Hall noise for the microphone while nobody talks to the robot: espeak-ng babble (8 talkers, 1 s
    reverb; bench_vad.py's) at -50 dBFS RMS over a -65 dBFS pink floor, int16 16 kHz."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_vad
    rng = np.random.default_rng(3)
    n = int(seconds * 16000)
    babble = bench_vad.babble(n, bench_vad.read_speech(), rng)
    mix = babble * 32768 * 10 ** (-50 / 20) / bench_vad.rms(babble) + bench_vad.pink(n, rng) * 32768 * 10 ** (-65 / 20)
    return np.clip(np.round(mix), -32768, 32767).astype(np.int16)


PAGE = os.sysconf('SC_PAGE_SIZE')
PFN_MASK = (1 << 55) - 1     # /proc/PID/pagemap entry: bits 0-54 the page frame number, bit 63 present
PAGEMAP_CHUNK = 1 << 20      # entries read at once (8 MiB): a big untouched reservation is read in pieces
GOAL_BYTES = 1.5e9           # issue 12: RSS of the whole graph <= 1.5 GB


def resident_frames(pid: int) -> tuple[np.ndarray, int]:
    """The distinct physical page frames resident in process `pid`, and how many of its present pages had a
    frame number of 0 (the kernel hides frame numbers from readers without CAP_SYS_ADMIN)."""
    frames, hidden = [], 0
    with open(f'/proc/{pid}/maps') as maps, open(f'/proc/{pid}/pagemap', 'rb', buffering=0) as pagemap:
        for line in maps:
            fields = line.split()
            if fields[1].startswith('---') or fields[-1] == '[vsyscall]':   # no access: nothing resident
                continue
            start, end = (int(x, 16) // PAGE for x in fields[0].split('-'))
            for first in range(start, end, PAGEMAP_CHUNK):
                count = min(PAGEMAP_CHUNK, end - first)
                try:
                    data = os.pread(pagemap.fileno(), count * 8, first * 8)
                except OSError:   # a mapping gone while we read (the process runs on)
                    break
                entries = np.frombuffer(data, '<u8')
                present = entries[(entries >> 63) == 1] & PFN_MASK
                hidden += int(np.count_nonzero(present == 0))
                frames.append(np.unique(present))
    return (np.unique(np.concatenate(frames)) if frames else np.zeros(0, np.uint64)), hidden


def graph_resident_mib(pids) -> float | None:
    """The graph's real RSS: physical pages resident in any of the processes, each counted once however many
    map it (the Python, ROS and numpy libraries every node maps; the RSS sum counts them once per process).
    None when frame numbers are hidden (not root / no CAP_SYS_ADMIN)."""
    per_process = [resident_frames(pid) for pid in pids]
    if any(hidden and not frames[frames != 0].size for frames, hidden in per_process):
        return None
    frames = np.unique(np.concatenate([frames for frames, _ in per_process]))
    return frames[frames != 0].size * PAGE / 2**20


def graph_memory(handles: dict) -> dict:
    """Per node: RSS and PSS (shared pages, e.g. the Python and ROS libraries every node maps, split among
    the processes that map them), MiB; and the graph's exact resident memory (pages shared between nodes
    counted once), with how long counting it took."""
    out = {}
    for name, handle in handles.items():
        info = handle.memory_full_info()
        out[name] = {'rss': info.rss / 2**20, 'pss': getattr(info, 'pss', float('nan')) / 2**20,
                     'uss': info.uss / 2**20}
    started = time.perf_counter()
    try:
        resident = graph_resident_mib(handle.pid for handle in handles.values())
    except PermissionError:   # pagemap of another user's process
        resident = None
    return {'nodes': out, 'graph_rss': resident, 'graph_rss_seconds': time.perf_counter() - started}


# Questions spoken into the microphone after the idle measurement (--speech N): the asr node's memory once its
# recognizers have worked (Vosk's free-mode Korean recognizer caches its decoding graph as it decodes, Whisper's
# decodes leave buffers), not only fresh. espeak-ng voices; a new visitor each time (greeter/conversation before
# each question, as the interaction node says when a visitor engages; nobody taps a language), so every question
# goes to Vosk (ko) and to Whisper's language ID and transcript.
SPOKEN = [('ko', '화장실은 어디에 있어요?'), ('ko', '전시회는 몇 시에 시작해요?'),
          ('en-us', 'Where is the coffee exhibition?'),
          ('ko', '커피 파는 곳이 어디예요?'), ('ko', '셔틀 버스는 어디서 타요?'), ('vi', 'Nhà vệ sinh ở đâu?'),
          ('ko', '와이파이 비밀번호가 뭐예요?'), ('ko', '회의실 예약하고 싶어요'), ('cmn', '请问餐厅在哪里？'),
          ('ko', '두리안 전시는 몇 홀이에요?'), ('ko', '출구가 어디에 있나요?'), ('th', 'ห้องน้ำอยู่ที่ไหนครับ'),
          ('ko', '식당이 몇 층에 있어요?'), ('ko', '인공지능 로봇 전시 보고 싶어요')]


def spoken_chunks(count: int, noise: np.ndarray) -> list[bytes | str]:
    """`count` questions (cycling through SPOKEN) at -25 dBFS over the hall noise, 2.5 s apart, 100 ms chunks;
    before each, the id of the visitor asking it (a str: a new conversation starts there)."""
    from caexpo_robot.sim.synthetic_audio import synthesize_speech
    out: list[bytes | str] = []
    for k in range(count):
        voice, text = SPOKEN[k % len(SPOKEN)]
        speech = np.frombuffer(synthesize_speech(text, voice), dtype='<i2').astype(np.float64)
        speech *= 32768 * 10 ** (-25 / 20) / (np.sqrt(np.mean(speech ** 2)) + 1e-9)
        audio = np.concatenate([np.zeros(int(0.5 * 16000)), speech, np.zeros(int(2.0 * 16000))])
        audio += np.resize(np.roll(noise.astype(np.float64), -k * 8000), audio.size)
        pcm = np.clip(np.round(audio), -32768, 32767).astype('<i2')
        out += [f'visitor-{k}'] + [pcm[i:i + 1600].tobytes() for i in range(0, pcm.size - 1599, 1600)]
    return out


def bench_idle_cpu(seconds: float = 20.0, startup_s: float = 25.0, speech: int = 0) -> dict:
    """The whole robot graph, every node its own process as on a robot (config/greeter.yaml's defaults: asr
    with Vosk ko loaded and Whisper base warm), camera at 30 fps on an empty entrance, hall noise published
    on audio/chunks in real time by this process (no sound card here: the microphone node waits for one,
    so its capture cost is not included; the publishing is this process's, not counted). `speech` questions
    are then spoken into the microphone and the memory measured again."""
    from collections import deque

    from std_msgs.msg import UInt8MultiArray

    from caexpo_robot.messages import ConversationStarted, HeardSpeech, encode
    from caexpo_robot.nodes.audio_msgs import audio_msg
    from caexpo_robot.nodes.common import AUDIO
    folder = Path(tempfile.mkdtemp(prefix='bench_empty_entrance_'))
    cv2.imwrite(str(folder / 'empty.png'), cv2.cvtColor(expo_background(640, 480), cv2.COLOR_RGB2BGR))
    wav_dir = tempfile.mkdtemp(prefix='bench_tts_')
    bin_dir = Path(sys.executable).parent
    commands = {
        'camera': ['-p', f'source:={folder}', '-p', 'fps:=30.0'],
        'face_detector': [],
        'microphone': [],          # no sound card here: it waits for one (as on a robot without a microphone)
        'asr': [],                 # the packaged asr.yaml: Vosk ko loaded, Whisper base loaded and warmed up
        'tts': ['-p', 'audio_output:=file', '-p', f'wav_dir:={wav_dir}'],
        'interaction': [],
        'screen': ['-p', 'port:=0'],
        'telepresence': [],        # no console link configured: it idles
    }
    assert set(commands) == set(graph.ROBOT_NODES), sorted(graph.ROBOT_NODES)
    noise = hall_noise()
    chunks = [noise[i:i + 1600].tobytes() for i in range(0, noise.size - 1599, 1600)]
    context = Context()
    rclpy.init(context=context, args=[])
    probe = rclpy.create_node('bench_microphone', context=context)
    pub = probe.create_publisher(UInt8MultiArray, 'audio/chunks', AUDIO)
    heard = []
    probe.create_subscription(String, HeardSpeech.TOPIC, lambda msg: heard.append(msg.data), EVENTS)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(probe)
    stop = threading.Event()

    queued: deque[bytes | str] = deque()   # spoken questions, played instead of the noise while there are any
    conversation = probe.create_publisher(String, ConversationStarted.TOPIC, EVENTS)

    def microphone():   # 100 ms chunks of hall noise at real-time pace, as the microphone node publishes
        started, k = time.monotonic(), 0
        while not stop.is_set():
            while queued and isinstance(queued[0], str):   # a visitor engages: the interaction node says so
                conversation.publish(String(data=encode(ConversationStarted(
                    t=time.time(), visitor=queued.popleft(), expected=['zh', 'en']))))
            pub.publish(audio_msg(queued.popleft() if queued else chunks[k % len(chunks)]))
            k += 1
            stop.wait(max(0.0, started + k * 0.1 - time.monotonic()))
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    talker = threading.Thread(target=microphone, daemon=True)
    talker.start()
    processes = {name: subprocess.Popen([str(bin_dir / name), '--ros-args', *args], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL) for name, args in commands.items()}
    try:
        time.sleep(startup_s)   # start-up (imports, mediapipe graph, Vosk load, Whisper warm-up) is not idle cost
        for name, p in processes.items():
            if p.poll() is not None:
                raise SystemExit(f'{name} exited with {p.returncode} during start-up')
        handles = {name: psutil.Process(p.pid) for name, p in processes.items()}
        heard_before = len(heard)
        before = {name: h.cpu_times() for name, h in handles.items()}
        time.sleep(seconds)
        after = {name: h.cpu_times() for name, h in handles.items()}
        memory = graph_memory(handles)
        heard_idle = heard[heard_before:]
        memory_after_speech, heard_speech = None, []
        if speech:
            spoken = spoken_chunks(speech, noise)
            heard_before_speech = len(heard)
            queued.extend(spoken)
            time.sleep(sum(isinstance(c, bytes) for c in spoken) * 0.1 + 5.0)   # in real time, last decode done
            memory_after_speech = graph_memory(handles)
            heard_speech = heard[heard_before_speech:]
    finally:
        stop.set()
        talker.join(timeout=2)
        for p in processes.values():
            p.terminate()
        for p in processes.values():
            p.wait(timeout=20)
        executor.shutdown()
        spinner.join(timeout=5)
        probe.destroy_node()
        rclpy.try_shutdown(context=context)
    per_node = {name: 100.0 * ((after[name].user + after[name].system) - (before[name].user + before[name].system))
                / seconds for name in commands}
    return {'idle_cpu_percent_of_one_core': sum(per_node.values()), 'per_node_percent': per_node,
            'memory_mib': memory, 'heard_while_idle': heard_idle, 'seconds': seconds,
            'speech': speech, 'memory_after_speech_mib': memory_after_speech, 'heard_speech': heard_speech}


def print_memory(memory: dict, when: str) -> None:
    nodes = memory['nodes']
    print(f'memory per node {when}, MiB (RSS / PSS / USS): ' + ', '.join(
        f'{k} {v["rss"]:.0f}/{v["pss"]:.0f}/{v["uss"]:.0f}' for k, v in nodes.items()))
    rss_sum, pss_sum = sum(v['rss'] for v in nodes.values()), sum(v['pss'] for v in nodes.values())
    goal_mib = GOAL_BYTES / 2**20
    if memory['graph_rss'] is None:
        graph_rss = pss_sum
        exact = ('graph RSS (pages shared between nodes counted once): unavailable, page frame numbers are '
                 'hidden without CAP_SYS_ADMIN (run as root); the PSS sum stands in for it')
    else:
        graph_rss = memory['graph_rss']
        exact = (f'graph RSS (distinct physical pages resident in any node, pages shared between nodes counted '
                 f'once; /proc/PID/pagemap, {memory["graph_rss_seconds"]:.1f} s) {graph_rss:.0f} MiB')
    print(f'whole graph {when} ({len(nodes)} processes): RSS sum {rss_sum:.0f} MiB (counts shared pages once per '
          f'process), PSS sum {pss_sum:.0f} MiB (shared pages split among the processes), {exact}')
    verdict = 'met' if graph_rss * 2**20 <= GOAL_BYTES else 'NOT met'
    print(f'goal: graph RSS <= 1.5 GB = 1.5e9 bytes = {goal_mib:.1f} MiB: '
          f'{"graph RSS" if memory["graph_rss"] is not None else "PSS sum"} {graph_rss:.0f} MiB = '
          f'{graph_rss * 2**20 / 1e9:.2f} GB -> {verdict}')


def print_idle(idle: dict) -> None:
    per_node = ', '.join(f'{k} {v:.1f} %' for k, v in idle['per_node_percent'].items())
    print(f'idle graph at 30 fps, hall noise in the microphone, {idle["seconds"]:.0f} s: '
          f'{idle["idle_cpu_percent_of_one_core"]:.1f} % of one core ({per_node}); goal <= 25 %')
    print_memory(idle['memory_mib'], 'idle')
    print(f'utterances heard from the hall noise while idle: {len(idle["heard_while_idle"])}'
          + ''.join(f'\n  {m[:160]}' for m in idle['heard_while_idle'][:5]))
    if idle['speech']:
        print(f'then {idle["speech"]} questions spoken (espeak-ng, 10 of 14 in Korean, a new visitor each): '
              f'{len(idle["heard_speech"])} utterances heard')
        print_memory(idle['memory_after_speech_mib'], f'after {idle["speech"]} questions')


def main() -> int:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--only', choices=('idle',), help='idle: only the idle graph\'s CPU and memory (3.)')
    parser.add_argument('--seconds', type=float, default=20.0, help='idle measurement length')
    parser.add_argument('--speech', type=int, default=40,
                        help='questions spoken after the idle measurement, then the memory again (0: none)')
    args = parser.parse_args()
    if args.only == 'idle':
        print(f'{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start')
        print_idle(bench_idle_cpu(args.seconds, speech=args.speech))
        return 0
    frames = approach_frames(FRAMES)
    detector = bench_detector_node(frames)
    print(f'face_detector on {detector["frames"]} rendered 640x480 frames ({detector["faces_tracked_total"]} faces):')
    print(f'  raw mediapipe (full range)  mean {detector["raw_mean_ms"]:.2f} ms   p95 {detector["raw_p95_ms"]:.2f} ms')
    print(f'  node callback (convert, detect, track, engage)  mean {detector["callback_mean_ms"]:.2f} ms'
          f'   p95 {detector["callback_p95_ms"]:.2f} ms   → {detector["ratio_callback"]:.2f}x raw (goal ≤ 1.3x)')
    print(f'  whole image callback incl. publishing the FacesFrame (JSON, rcl)  mean '
          f'{detector["whole_callback_mean_ms"]:.2f} ms   p95 {detector["whole_callback_p95_ms"]:.2f} ms   → '
          f'{detector["ratio_whole_callback"]:.2f}x raw')
    print(f'  end to end incl. ROS transport of the 900 kB image (publish → output)  mean '
          f'{detector["node_mean_ms"]:.2f} ms   p95 {detector["node_p95_ms"]:.2f} ms   → '
          f'{detector["ratio_mean"]:.2f}x raw')
    sim = bench_greeting_latency_sim()
    print(f'greeting latency, sim time (default scenario): {sim["sim_greeting_latency_ms"]} '
          f'({sim["sim_duration_s"]} s simulated in {sim["sim_wall_s"]} s)')
    print(f'end of the visitor\'s speech → first audio of the answer, sim time: {sim["heard_to_answer_ms"]} ms '
          '(goal ≤ 700 ms; the endpointer\'s 0.5 s of silence is most of it)')
    wall = bench_greeting_latency_wall()
    print(f'greeting latency, wall time (real nodes, 15 fps): {wall}')
    print_idle(bench_idle_cpu(args.seconds, speech=args.speech))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
