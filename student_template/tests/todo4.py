from otter.test_files import test_case

OK_FORMAT = False

name = "todo4"
points = 1

@test_case(points=None, hidden=False)
def test_todo4(model_momentum, history_momentum):
    from hw5kit import public
    public.check_variable('model_momentum', model_momentum, history_momentum)

