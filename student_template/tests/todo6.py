from otter.test_files import test_case

OK_FORMAT = False

name = "todo6"
points = 1

@test_case(points=None, hidden=False)
def test_todo6(model_2_layer, history_2_layer):
    from hw5kit import public
    public.check_variable('model_2_layer', model_2_layer, history_2_layer)

